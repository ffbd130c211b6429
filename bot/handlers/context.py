"""The typed state every handler reaches through its context."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.campaign.content import Campaign, Content
from bot.config import Config
from bot.delivery.campaign_files import CampaignFiles
from bot.delivery.corrections import Corrector
from bot.delivery.pacing import Pacer
from bot.delivery.sender import Sender
from bot.handlers.flood import FloodGuard
from bot.handlers.language_choices import LanguageChoices
from bot.organizing.publishing import Follower
from bot.storage import Storage


@dataclass
class Services:
    """What the handlers work with; `content` is replaced whole by /reload."""

    config: Config
    content: Content
    storage: Storage
    flood_guard: FloodGuard = field(default_factory=FloodGuard)
    sender_options: dict[str, Any] = field(default_factory=dict)
    feed_options: dict[str, Any] = field(default_factory=dict)  # FeedWatch's, for the tests
    pacer: Pacer = field(default_factory=Pacer)  # shared by the sender and the bot's replies
    sender: Sender | None = None
    corrector: Corrector | None = None  # edits and retractions, where the sender runs
    sender_task: asyncio.Task[None] | None = None
    languages: LanguageChoices = field(init=False)
    languages_task: asyncio.Task[None] | None = None
    files: CampaignFiles = field(init=False)  # campaign pictures and files, by file id
    follower: Follower = field(init=False)  # the published version served (issue 22)
    content_task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.languages = LanguageChoices(self.storage)
        self.files = CampaignFiles(self.storage)
        self.follower = Follower(self.storage, self.config.campaigns_dir)


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """A CallbackContext that knows our services, so handlers need no casts."""

    @property
    def services(self) -> Services:
        """Return the application's services."""
        services: Services = self.application.bot_data["services"]
        return services

    @property
    def content(self) -> Content:
        """Return the campaigns being served now."""
        return self.services.content

    @property
    def storage(self) -> Storage:
        """Return the database."""
        return self.services.storage

    def campaign(self) -> Campaign:
        """Return the campaign this chat chose, or the default one."""
        chosen = self.content.get(self.chat_data.get("campaign") if self.chat_data else None)
        return chosen or self.content.default

    def choose(self, campaign: Campaign) -> None:
        """Remember (in memory only) which campaign this chat is looking at."""
        if self.chat_data is not None:
            self.chat_data["campaign"] = campaign.id


BotApplication = Application[
    ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]
