"""Campaign content: the schema organizers write in YAML, and loading a folder of it."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import ErrorDetails

from bot.yamlsafe import Located, Position, YamlError, YamlProblem, read_yaml

# Telegram deep-link payloads allow 64 characters of A-Za-z0-9_- (Bot API, "Deep linking").
CAMPAIGN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _check_id(value: str) -> str:
    if not CAMPAIGN_ID.match(value):
        raise ValueError("an id is 1-64 letters, digits, '-' or '_' (it goes in a t.me link)")
    return value


def _check_url(value: str) -> str:
    if not _URL.match(value):
        raise ValueError("a link must start with http:// or https://")
    return value


def _time(text: str) -> dt.time:
    # 9:30 is as clear as 09:30; Python's ISO parser wants the zero.
    return dt.time.fromisoformat(f"0{text}" if re.fullmatch(r"\d:\d\d", text) else text)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _iso(parse: Callable[[str], Any], what: str) -> Callable[[Any], Any]:
    """Return a validator reading text as written (YYYY-MM-DD, HH:MM) into a date or time."""

    def convert(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return parse(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not {what}") from None

    return convert


Body = Annotated[str, AfterValidator(_not_blank)]
CampaignId = Annotated[str, AfterValidator(_check_id)]
Url = Annotated[str, AfterValidator(_check_url)]
Day = Annotated[
    dt.date, BeforeValidator(_iso(dt.date.fromisoformat, "a date; write it as YYYY-MM-DD"))
]
TimeOfDay = Annotated[dt.time, BeforeValidator(_iso(_time, "a time; write it as HH:MM (24-hour)"))]


@dataclass(frozen=True, order=True)
class PublishedOn:
    """A statement's date, to the day or, when only that is known, to the month."""

    day: dt.date
    precise: bool = True

    def __str__(self) -> str:
        if self.precise:
            return f"{self.day.day} {self.day:%B %Y}"
        return f"{self.day:%B %Y}"


def _parse_published(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}", text):
        try:
            return PublishedOn(dt.date.fromisoformat(text + "-01"), precise=False)
        except ValueError:
            pass
    else:
        try:
            return PublishedOn(dt.date.fromisoformat(text))
        except ValueError:
            pass
    raise ValueError(
        f"{value!r} is not a date; write YYYY-MM-DD, or YYYY-MM if the day is unknown"
    )


Published = Annotated[PublishedOn, BeforeValidator(_parse_published)]


def _channel_id(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"-100\d{5,16}", value.strip()):
        return int(value.strip())
    raise ValueError(
        f"{value!r} is not a channel id: write the numeric id, which starts with -100 "
        "(forward a post from the channel to @userinfobot to see it)"
    )


ChannelId = Annotated[int, BeforeValidator(_channel_id)]


class _Model(BaseModel):
    # Strict: a list where text belongs is an error, not silently str()-ed. Unknown keys are
    # errors so that a misspelt `sloagns:` is reported instead of ignored.
    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, arbitrary_types_allowed=True
    )


class Statement(_Model):
    """A dated statement with its signatory and body text."""

    title: Text
    date: Published
    organization: Text | None = None
    author: Text
    role: Text | None = None
    source: Url | None = None
    body: Body


class Action(_Model):
    """Something a reader can do, optionally at a time and place."""

    title: Text
    description: Text
    link: Url | None = None
    date: Day | None = None
    time: TimeOfDay | None = None
    place: Text | None = None


class Campaign(_Model):
    """One campaign: who runs it, what it says, what it asks people to do."""

    id: CampaignId
    title: Text
    organization: Text
    summary: Text | None = None
    statements: Annotated[list[Statement], Field(min_length=1)]
    slogans: list[Text] = []
    actions: list[Action] = []
    # Telegram channels the bot is an admin of: broadcasts and announcements go there too.
    channels: list[ChannelId] = []

    @property
    def key(self) -> str:
        """Return a short stable key for this campaign, for 64-byte callback data."""
        return campaign_key(self.id)

    @property
    def statement(self) -> Statement:
        """Return the latest statement by date (the first listed wins a tie)."""
        return max(reversed(self.statements), key=lambda s: s.date)

    @property
    def archive(self) -> list[Statement]:
        """Return all statements, newest first."""
        return sorted(self.statements, key=lambda s: s.date, reverse=True)


@dataclass(frozen=True)
class Content:
    """All campaigns being served, in file-name order."""

    campaigns: tuple[Campaign, ...]
    files: tuple[Path, ...] = ()

    def __iter__(self) -> Iterator[Campaign]:
        return iter(self.campaigns)

    def __len__(self) -> int:
        return len(self.campaigns)

    def get(self, campaign_id: str | None) -> Campaign | None:
        """Return the campaign with this id, or None."""
        return next((c for c in self.campaigns if c.id == campaign_id), None)

    def by_key(self, key: str) -> Campaign | None:
        """Return the campaign with this callback key, or None."""
        return next((c for c in self.campaigns if c.key == key), None)

    @property
    def default(self) -> Campaign:
        """Return the campaign served when none was chosen."""
        return self.campaigns[0]


def action_key(campaign_id: str, action: Action) -> str:
    """Return the short key of an action: its pledges follow it while its title stays."""
    return hashlib.sha256(f"{campaign_id}\0{action.title}".encode()).hexdigest()[:10]


def campaign_key(campaign_id: str) -> str:
    """Return the short key standing for a campaign id in button data."""
    # Button data is capped at 64 bytes and an id may be 64 characters: a hash fits any id.
    return hashlib.sha256(campaign_id.encode()).hexdigest()[:10]


class ContentError(Exception):
    """Campaign files that cannot be served, with every problem located."""

    def __init__(self, problems: list[YamlProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _describe(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"])
    kind = error["type"]
    if kind == "missing":
        return f"missing required key {error['loc'][-1]!r}"
    if kind == "extra_forbidden":
        return f"unknown key {error['loc'][-1]!r}"
    if kind in ("string_type", "str_type"):
        return f"{where}: expected text here"
    if kind == "list_type":
        return f"{where}: expected a list (lines starting with '- ')"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"{where}: expected keys and values (key: value lines)"
    if kind == "string_too_short":
        return f"{where}: must not be empty"
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}"


def _validate(located: Located, path: Path) -> Campaign:
    problems = list(located.problems)
    try:
        campaign = Campaign.model_validate(located.data)
    except ValidationError as error:
        reported = {p.position for p in problems}
        for detail in error.errors(include_url=False):
            loc = tuple(detail["loc"])
            # A missing key has no position of its own: point at the map that lacks it.
            if detail["type"] == "missing":
                position = located.position_of(loc[:-1])
            elif detail["type"] == "extra_forbidden":
                position = located.key_positions.get(loc) or located.position_of(loc)
            else:
                position = located.position_of(loc)
            if position not in reported:  # a refused value reads as missing: say it once
                problems.append(YamlProblem(path, position, _describe(detail)))
    if problems:
        problems.sort(key=lambda p: (p.position.line, p.position.column))
        raise ContentError(problems)
    return campaign


def load_campaign(path: Path) -> Campaign:
    """Load and validate one campaign file, or raise ContentError with located problems."""
    try:
        located = read_yaml(path)
    except YamlError as error:
        raise ContentError(error.problems) from None
    if not isinstance(located.data, dict):
        raise ContentError([YamlProblem(path, Position(1, 1), "expected keys and values")])
    return _validate(located, path)


def campaign_files(directory: Path) -> list[Path]:
    """Return the campaign files of a folder, in name order."""
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def load_campaigns(directory: Path) -> Content:
    """Load every campaign file in a folder, or raise ContentError listing every problem."""
    if not directory.is_dir():
        message = f"no such folder (looked for {directory.resolve()}; set CAMPAIGNS_DIR)"
        raise ContentError([YamlProblem(directory, Position(1, 1), message)])
    files = campaign_files(directory)
    if not files:
        where = YamlProblem(directory, Position(1, 1), "no campaign files (*.yaml) here")
        raise ContentError([where])
    problems: list[YamlProblem] = []
    campaigns: list[Campaign] = []
    loaded: list[Path] = []
    first_file: dict[str, Path] = {}
    for path in files:
        try:
            campaign = load_campaign(path)
        except ContentError as error:
            problems.extend(error.problems)
            continue
        if campaign.id in first_file:
            message = f"campaign id {campaign.id!r} is already used by {first_file[campaign.id]}"
            problems.append(YamlProblem(path, Position(1, 1), message))
            continue
        first_file[campaign.id] = path
        campaigns.append(campaign)
        loaded.append(path)
    if problems:
        raise ContentError(problems)
    return Content(tuple(campaigns), tuple(loaded))
