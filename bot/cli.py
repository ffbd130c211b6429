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
from bot.content import Content, ContentError, load_campaigns
from bot.logs import configure_logging
from bot.storage import Storage, sqlite_file

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
    commands.add_parser("preview", help="try the bot in this terminal, offline")
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

            asyncio.run(run_preview(config, load_or_fail(config.campaigns_dir)))
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


def _problems(error: ContentError, summary: str) -> Failure:
    lines = [str(p) for p in error.problems]
    lines.append(summary.format(count=len(error.problems)))
    return Failure("\n".join(lines))


def load_or_fail(directory: Path) -> Content:
    """Load campaigns or raise Failure listing every located problem."""
    try:
        return load_campaigns(directory)
    except ContentError as error:
        raise _problems(error, "{count} problem(s): nothing was served") from None


def validate(directory: Path) -> None:
    """Check every campaign file; print one line per campaign, or every located problem."""
    try:
        content = load_campaigns(directory)
    except ContentError as error:
        raise _problems(error, "{count} problem(s) found") from None
    for path, campaign in zip(content.files, content, strict=True):
        print(
            f"{path}: ok: {campaign.id} — {campaign.title}: {len(campaign.statements)} "
            f"statement(s), latest {campaign.statement.date}; {len(campaign.slogans)} slogan(s); "
            f"{len(campaign.actions)} action(s)"
        )


def run(config: Config) -> None:
    """Serve the campaigns over long polling until interrupted."""
    from bot.app import build_application

    token = config.require_token()
    configure_logging(config.log_level, [token])
    content = load_or_fail(config.campaigns_dir)
    try:
        storage = Storage.connect(config.database_url)
    except (SQLAlchemyError, OSError) as error:
        raise _database_failure(error) from None
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
        raise _database_failure(error) from None


async def export(config: Config, campaign_id: str | None) -> None:
    """Print the subscriber list as CSV on stdout."""
    storage = await _open_existing(config)
    try:
        if campaign_id is not None and not await storage.count_subscriptions(campaign_id):
            known = _campaign_ids(config)
            if campaign_id not in known:
                names = ", ".join(sorted(known)) or "none could be read"
                raise Failure(f"unknown campaign {campaign_id!r} (campaigns: {names})")
        await reports.write_csv(storage, sys.stdout, campaign_id)
    finally:
        await storage.close()


async def stats(config: Config) -> None:
    """Print subscriber numbers and the last broadcasts."""
    storage = await _open_existing(config)
    try:
        print(to_terminal(await reports.stats_html(storage)))
    finally:
        await storage.close()


def _campaign_ids(config: Config) -> set[str]:
    try:
        return {c.id for c in load_campaigns(config.campaigns_dir)}
    except ContentError:
        return set()


def _database_failure(error: Exception) -> Failure:
    return Failure(f"cannot open the database ({type(error).__name__}): check DATABASE_URL")


async def _open_existing(config: Config) -> Storage:
    """Open the configured database for reading reports; a missing SQLite file is an error."""
    path = sqlite_file(config.database_url)
    if path is not None and not path.exists():
        raise Failure(
            f"no database at {path.resolve()}: nothing to report yet "
            "(run the bot first, or set DATABASE_URL)"
        )
    try:
        return await Storage.open(config.database_url)
    except (SQLAlchemyError, OSError) as error:
        raise _database_failure(error) from None
