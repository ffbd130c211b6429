"""The command line: run, validate, preview, export, stats."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.error import InvalidToken, NetworkError

from bot import render, reports
from bot.config import Config, ConfigError, load_config
from bot.console import to_terminal
from bot.content import Content, ContentError, campaign_files, load_campaign, load_campaigns
from bot.logs import configure_logging
from bot.storage import Storage

logger = logging.getLogger(__name__)


class Failure(Exception):
    """A user-facing failure: a message for stderr and an exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="solidarity-bot",
        description="A Telegram bot for solidarity campaigns written in YAML.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="run the bot (long polling); needs TELEGRAM_BOT_TOKEN")
    validate = commands.add_parser("validate", help="check campaign files")
    validate.add_argument("directory", nargs="?", type=Path, help="default: CAMPAIGNS_DIR")
    preview = commands.add_parser("preview", help="try the bot in this terminal, offline")
    preview.add_argument(
        "--database",
        help="database URL to use (default: a throwaway one, so nothing is kept)",
    )
    export = commands.add_parser("export", help="print subscribers as CSV")
    export.add_argument("--campaign", help="only this campaign's subscribers")
    commands.add_parser("stats", help="print subscriber numbers and the last broadcasts")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the process exit code."""
    args = _parser().parse_args(argv)
    try:
        config = load_config()
        if args.command == "run":
            run(config)
        elif args.command == "validate":
            validate(args.directory or config.campaigns_dir)
        elif args.command == "preview":
            from bot.preview import run_preview

            asyncio.run(run_preview(config, database=args.database))
        elif args.command == "export":
            asyncio.run(export(config, args.campaign))
        elif args.command == "stats":
            asyncio.run(stats(config))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Failure as error:
        print(error, file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        return 130
    return 0


def load_or_fail(directory: Path) -> Content:
    """Load campaigns or raise Failure listing every located problem."""
    try:
        return load_campaigns(directory)
    except ContentError as error:
        lines = [str(p) for p in error.problems]
        lines.append(f"{len(error.problems)} problem(s): nothing was served")
        raise Failure("\n".join(lines)) from None


def validate(directory: Path) -> None:
    """Check every campaign file; print one line per campaign, or every located problem."""
    if not directory.is_dir() or not campaign_files(directory):
        load_or_fail(directory)
    problems = []
    for path in campaign_files(directory):
        try:
            campaign = load_campaign(path)
        except ContentError as error:
            problems.extend(error.problems)
            continue
        print(
            f"{path}: ok: {campaign.id} — {campaign.title}: {len(campaign.statements)} "
            f"statement(s), latest {campaign.statement.date}; {len(campaign.slogans)} slogan(s); "
            f"{len(campaign.actions)} action(s)"
        )
    # Ids unique across files is a folder-level rule: load the whole folder to check it.
    if not problems:
        load_or_fail(directory)
        return
    lines = [str(p) for p in problems]
    lines.append(f"{len(problems)} problem(s) found")
    raise Failure("\n".join(lines))


def run(config: Config) -> None:
    """Serve the campaigns over long polling until interrupted."""
    from bot.app import build_application

    token = config.require_token()
    configure_logging(config.log_level, [token])
    content = load_or_fail(config.campaigns_dir)
    storage = Storage.connect(config.database_url)
    application = build_application(config, content, storage, token=token)
    logger.info("serving %s", render.summary(content))
    try:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        raise Failure("Telegram refused the token: copy it again from @BotFather") from None
    except NetworkError as error:
        raise Failure(
            f"cannot reach the Telegram Bot API at {config.api_url}: {error.message}"
        ) from None
    except (SQLAlchemyError, OSError) as error:
        raise Failure(
            f"cannot open the database ({type(error).__name__}): check DATABASE_URL"
        ) from None


async def export(config: Config, campaign_id: str | None) -> None:
    """Print the subscriber list as CSV on stdout."""
    storage = await _open(config)
    try:
        await reports.write_csv(storage, sys.stdout, campaign_id)
    finally:
        await storage.close()


async def stats(config: Config) -> None:
    """Print subscriber numbers and the last broadcasts."""
    storage = await _open(config)
    try:
        print(to_terminal(await reports.stats_html(storage)))
    finally:
        await storage.close()


async def _open(config: Config) -> Storage:
    try:
        return await Storage.open(config.database_url)
    except (SQLAlchemyError, OSError) as error:
        raise Failure(
            f"cannot open the database ({type(error).__name__}): check DATABASE_URL"
        ) from None
