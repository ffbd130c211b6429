"""The command line: run, validate, preview, import, export, stats, keys for the ids."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError
from telegram.error import InvalidToken, NetworkError

from bot.campaign import render
from bot.campaign.content import Content, ContentError, load_campaigns
from bot.config import (
    Config,
    ConfigError,
    check_database_url,
    load_config,
    new_id_key,
    read_id_key_file,
)
from bot.handlers import reports
from bot.logs import configure_logging
from bot.organizing import exports
from bot.preview.console import to_terminal
from bot.storage import Storage, sqlite_file
from bot.storage.schema import SchemaError
from bot.storage.sealing import SealError

if TYPE_CHECKING:
    from bot.handlers.context import BotApplication

logger = logging.getLogger(__name__)


# Exit codes: 1 for what a person must fix (a file, the token, an old schema), 2 for a bad
# setting, TRY_AGAIN (EX_TEMPFAIL) for what may pass by itself (the network, the database),
# so that a service manager restarts on the last and not on the others.
TRY_AGAIN = 75


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
    run = commands.add_parser("run", help="run the bot; needs TELEGRAM_BOT_TOKEN")
    run.add_argument(
        "--migrate", action="store_true", help="migrate an out-of-date database first"
    )
    migrate = commands.add_parser("migrate", help="bring the database's schema up to date")
    migrate.add_argument(
        "--to", metavar="REVISION", help="migrate (or downgrade) to this revision instead"
    )
    validate = commands.add_parser("validate", help="check campaign files")
    validate.add_argument("directory", nargs="?", type=Path, help="default: CAMPAIGNS_DIR")
    preview = commands.add_parser("preview", help="try the bot in this terminal, offline")
    preview.add_argument(
        "--desk",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also serve the organizers' desk on 127.0.0.1 (default: when typing at a terminal)",
    )
    preview.add_argument(
        "--desk-port", type=int, default=0, metavar="PORT", help="the desk's port (default: free)"
    )
    statement = commands.add_parser(
        "import", help="make a statement's YAML from its web page, a feed or a saved file"
    )
    statement.add_argument(
        "source",
        metavar="URL|FILE",
        help="an article's address, a feed's (its newest post), or a saved .html or .xml file",
    )
    statement.add_argument(
        "--campaign",
        metavar="ID",
        help="write it as a new file in the campaign's statements folder instead of printing it",
    )
    export = commands.add_parser("export", help="print subscribers as CSV")
    export.add_argument("--campaign", help="only this campaign's subscribers")
    stats_command = commands.add_parser(
        "stats", help="print subscriber numbers and the last broadcasts"
    )
    stats_command.add_argument(
        "--chart", metavar="FILE.png", type=Path, help="also draw the sign-ups chart into FILE"
    )
    copy = commands.add_parser(
        "copy-db", help="copy every row into an empty database (e.g. SQLite to PostgreSQL)"
    )
    copy.add_argument("source", metavar="FROM", help="database URL to copy from")
    copy.add_argument("target", metavar="TO", help="database URL of an empty database")
    backup = commands.add_parser(
        "backup", help="copy the SQLite database into a new file, leaving deleted rows behind"
    )
    backup.add_argument("file", metavar="FILE", type=Path, help="the new file to write")
    commands.add_parser("new-key", help="print a new key for ID_ENCRYPTION_KEY")
    rotate = commands.add_parser(
        "rotate-key",
        help="re-seal every stored id under a new key, or none (the bot stopped)",
    )
    # The new key from a file, never on the command line, where `ps` shows it to everyone.
    to = rotate.add_mutually_exclusive_group(required=True)
    to.add_argument("--to-key-file", metavar="FILE", type=Path, help="the new key's file")
    to.add_argument("--to-none", action="store_true", help="store the ids unsealed again")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the process exit code."""
    args = _parser().parse_args(argv)
    if args.command == "new-key":
        print(new_id_key())
        return 0
    try:
        config = load_config()
        if args.command == "run":
            run(config, migrate=args.migrate)
        elif args.command == "migrate":
            asyncio.run(migrate(config, args.to))
        elif args.command == "validate":
            validate(args.directory or config.campaigns_dir)
        elif args.command == "preview":
            from bot.preview.run import run_preview

            content = load_or_fail(config.campaigns_dir)
            asyncio.run(run_preview(config, content, desk=args.desk, desk_port=args.desk_port))
        elif args.command == "import":
            asyncio.run(import_statement(config, args.source, args.campaign))
        elif args.command == "export":
            asyncio.run(export(config, args.campaign))
        elif args.command == "stats":
            asyncio.run(stats(config, args.chart))
        elif args.command == "copy-db":
            asyncio.run(copy_db(args.source, args.target, config.id_key))
        elif args.command == "backup":
            backup(config, args.file)
        elif args.command == "rotate-key":
            asyncio.run(rotate_key(config, args.to_key_file))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Failure as error:
        print(error, file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
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


def run(config: Config, *, migrate: bool = False) -> None:
    """Serve the campaigns (long polling, or a webhook if configured) until interrupted."""
    from bot.server.app import build_application
    from bot.server.metrics_server import PortError
    from bot.server.webhook import ListenError, serve

    token = config.require_token()
    secrets = [token] if config.webhook is None else [token, config.webhook.secret]
    configure_logging(config.log_level, secrets)
    content = load_or_fail(config.campaigns_dir)
    asyncio.run(_prepare_database(config, migrate=migrate))
    with _database_errors():
        storage = Storage.connect(config.database_url, key=config.id_key)
    application = build_application(config, content, storage, token=token)
    logger.info("serving %s", render.summary(content))
    try:
        if config.webhook is None:
            _poll(application, config)
        else:
            asyncio.run(serve(application, config.webhook))
    except ListenError as error:
        raise Failure(str(error)) from None
    except PortError as error:
        raise Failure(str(error), 2) from None
    except InvalidToken:
        raise Failure("Telegram refused the token: copy it again from @BotFather") from None
    except NetworkError as error:
        raise Failure(
            f"cannot reach the Telegram Bot API at {config.api_url}: {error.message}", TRY_AGAIN
        ) from None
    except (SQLAlchemyError, OSError) as error:
        raise _database_failure(error) from None


def _poll(application: BotApplication, config: Config) -> None:
    """Take updates by long polling until a stop signal; serve /metrics if METRICS_PORT is set,
    and the desk if DESK_URL is."""
    from bot.server.polling import poll

    metrics = None if config.metrics_port is None else (config.metrics_listen, config.metrics_port)
    desk = None if config.desk_url is None else (config.desk_listen, config.desk_port)
    asyncio.run(poll(application, metrics, desk))


@contextlib.contextmanager
def _database_errors() -> Iterator[None]:
    """Turn what the database says when it cannot be used into one sentence for organizers."""
    try:
        yield
    except SchemaError as error:
        raise Failure(str(error)) from None
    except SealError as error:  # a missing or wrong key: a setting to fix
        raise Failure(str(error), 2) from None
    except (SQLAlchemyError, OSError) as error:
        raise _database_failure(error) from None


async def _prepare_database(config: Config, *, migrate: bool) -> None:
    """Create the database on first run; refuse (or migrate) an out-of-date one."""
    with _database_errors():
        storage = Storage.connect(config.database_url, key=config.id_key)
        try:
            await storage.create_schema(migrate=migrate)
        finally:
            await storage.close()


async def migrate(config: Config, revision: str | None) -> None:
    """Migrate the configured database to `revision` (default: the latest)."""
    _require_database_file(config.database_url, "the bot creates it on first run")
    with _database_errors():
        storage = Storage.connect(config.database_url, key=config.id_key)
        try:
            done = await storage.migrate(revision)
            found = await storage.schema_state()
        finally:
            await storage.close()
    print(done or f"the database is already at schema {found.revision}")


async def import_statement(config: Config, source: str, campaign_id: str | None) -> None:
    """Print a statement's YAML read from a page, feed or file, or add it to a campaign."""
    from bot.campaign.statement_files import file_name, statements_folder, write_statement
    from bot.feeds.fetch import FeedError, FetchTimeout, HttpStatus, Unreachable
    from bot.feeds.source import read_statement
    from bot.feeds.statement_yaml import complete, lacking, statement_yaml

    target = None
    if campaign_id is not None:
        content = load_or_fail(config.campaigns_dir)
        found = dict(zip((c.id for c in content.campaigns), content.files, strict=True))
        if campaign_id not in found:
            names = ", ".join(sorted(found))
            raise Failure(f"import: unknown campaign {campaign_id!r} (campaigns: {names})")
        campaign = next(c for c in content.campaigns if c.id == campaign_id)
        target = (campaign, found[campaign_id])
    try:
        draft = await read_statement(source)
    except FeedError as error:
        # The site down (5xx), busy (429), slow or out of reach may pass by itself.
        passing = isinstance(error, FetchTimeout | Unreachable) or (
            isinstance(error, HttpStatus) and (error.status >= 500 or error.status == 429)
        )
        raise Failure(f"import: {error}", TRY_AGAIN if passing else 1) from None
    if target is None:
        print(statement_yaml(draft), end="")
        gaps = [field for field in draft.missing if field in ("title", "date", "author", "body")]
        if gaps:
            print(f"missing from the post: {', '.join(gaps)}", file=sys.stderr)
        print(
            "(one statement: save it in campaigns/<name>/statements/ as a .yaml file, or run "
            "again with --campaign ID)",
            file=sys.stderr,
        )
        return
    campaign, campaign_file = target
    # As the bot's Add does: no date, the day it was read; no author, the organization.
    today = dt.datetime.now(config.zone).date()
    draft, filled = complete(draft, campaign.organization, today)
    if missing := lacking(draft):
        raise Failure(
            f"import: the post has no {' and no '.join(missing)}, so nothing was written "
            "(without --campaign it is printed, to finish by hand)"
        )
    text = statement_yaml(draft, campaign_id, filled=filled)
    try:
        written = write_statement(campaign_file, text, file_name(draft.date, draft.title))
    except OSError as error:
        folder = statements_folder(campaign_file)
        raise Failure(f"import: cannot write into {folder}: {error.strerror or error}") from None
    try:
        load_campaigns(config.campaigns_dir)
    except ContentError as error:
        ours = [p for p in error.problems if p.path == written]
        lines = "\n".join(str(p) for p in ours or error.problems)
        if ours:  # our own file would break the campaigns: take it back
            written.unlink(missing_ok=True)
            raise Failure(f"{lines}\nimport: the statement was refused; nothing kept") from None
        raise Failure(f"written to {written}, but the campaigns have problems:\n{lines}") from None
    print(f"written to {written}")
    for key, why in filled.items():
        print(f"{key}: {why}")
    print("the campaign validates: /reload in Telegram (or restart the bot) to serve it")


async def export(config: Config, campaign_id: str | None) -> None:
    """Print the subscriber list as CSV on stdout."""
    storage = await _open_existing(config)
    try:
        if campaign_id is not None and not await storage.count_subscriptions(campaign_id):
            known = _campaign_ids(config)
            if campaign_id not in known:
                names = ", ".join(sorted(known)) or "none could be read"
                raise Failure(f"unknown campaign {campaign_id!r} (campaigns: {names})")
        await exports.write_csv(storage, sys.stdout, campaign_id)
    finally:
        await storage.close()


async def stats(config: Config, chart: Path | None = None) -> None:
    """Print subscriber numbers and the last broadcasts; draw the chart into `chart`."""
    storage = await _open_existing(config)
    try:
        content = _campaigns_or_none(config)  # for the pledges per action, if readable
        paid = config.paid_answers_per_day if config.paid_answers_after is not None else None
        print(to_terminal(await reports.stats_html(storage, content, paid)))
        if chart is not None:
            png = await reports.signups_chart(storage)
            if png is None:
                raise Failure("no sign-ups yet: there is nothing to draw")
            try:
                await asyncio.to_thread(chart.write_bytes, png)
            except OSError as error:
                raise Failure(f"cannot write {chart}: {error.strerror}") from None
            print(f"chart written to {chart}")
    finally:
        await storage.close()


async def copy_db(source_url: str, target_url: str, key: bytes | None) -> None:
    """Copy every row from one database into an empty one, and say how many.

    Both databases' ids are sealed under `key` (ID_ENCRYPTION_KEY), or neither's.
    """
    from bot.storage.copydb import CopyError, copy_database

    for url, name in ((source_url, "FROM"), (target_url, "TO")):
        try:
            check_database_url(url, name)
        except ConfigError as error:
            raise Failure(f"copy-db: {error}") from None
    _require_database_file(source_url, "nothing to copy")
    source, target = Storage.connect(source_url, key=key), Storage.connect(target_url, key=key)
    try:
        copied = await copy_database(source, target)
    except (CopyError, SealError) as error:
        raise Failure(f"copy-db: {error}; nothing was copied") from None
    except (SQLAlchemyError, OSError) as error:
        raise Failure(f"copy-db: {type(error).__name__}: {error}; nothing was copied") from None
    finally:
        await source.close()
        await target.close()
    counts = ", ".join(f"{count} {table}" for table, count in copied.items())
    print(f"copied {counts}")


def backup(config: Config, file: Path) -> None:
    """Copy the SQLite database into a new file with VACUUM INTO (docs/privacy.md)."""
    if sqlite_file(config.database_url) is None:
        raise Failure(
            "backup: the database is PostgreSQL; back it up with pg_dump, encrypted "
            "(docs/privacy.md shows how)"
        )
    if file.exists():
        raise Failure(f"backup: {file} exists already; name a new file")
    file.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(_backup(config, file))
    print(f"backed up to {file} ({file.stat().st_size:,} bytes); encrypt it before it leaves")


async def _backup(config: Config, file: Path) -> None:
    storage = await _open_existing(config)
    try:
        await storage.backup_to(file)
    except (SQLAlchemyError, OSError) as error:
        raise Failure(f"backup: cannot write {file}: {error}") from None
    finally:
        await storage.close()


async def rotate_key(config: Config, to_key_file: Path | None) -> None:
    """Re-seal every stored id under the key in `to_key_file` (or none), then compact."""
    from bot.storage.rotation import rotate_key as reseal_all

    new_key = None if to_key_file is None else read_id_key_file(to_key_file, "--to-key-file")
    _require_database_file(config.database_url, "nothing to re-seal")
    with _database_errors():
        storage = await Storage.open(config.database_url, key=config.id_key)  # checks the key
        try:
            if new_key == config.id_key:
                raise Failure("rotate-key: the ids are sealed that way already; nothing to do")
            count = await reseal_all(storage, new_key)
        finally:
            await storage.close()
    if new_key is None:
        then = "unset ID_ENCRYPTION_KEY and ID_ENCRYPTION_KEY_FILE"
    else:
        then = f"set ID_ENCRYPTION_KEY_FILE={to_key_file} (or that key in ID_ENCRYPTION_KEY)"
    print(f"re-sealed {count} stored id(s) and compacted the database: {then} to start the bot")


def _campaigns_or_none(config: Config) -> Content | None:
    try:
        return load_campaigns(config.campaigns_dir)
    except ContentError:
        return None


def _campaign_ids(config: Config) -> set[str]:
    content = _campaigns_or_none(config)
    return set() if content is None else {c.id for c in content}


def _database_failure(error: Exception) -> Failure:
    return Failure(
        f"cannot open the database ({type(error).__name__}): check DATABASE_URL", TRY_AGAIN
    )


async def _open_existing(config: Config) -> Storage:
    """Open the configured database for reading reports; a missing SQLite file is an error."""
    _require_database_file(
        config.database_url, "nothing to report yet (run the bot first, or set DATABASE_URL)"
    )
    with _database_errors():
        return await Storage.open(config.database_url, key=config.id_key)


def _require_database_file(url: str, why_it_matters: str) -> None:
    """Refuse an SQLite URL whose file does not exist (opening it would create an empty one)."""
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise Failure(f"no database at {path.resolve()}: {why_it_matters}")
