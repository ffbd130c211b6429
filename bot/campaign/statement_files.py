"""Statements kept one to a file, in a folder beside their campaign file.

`campaigns/rafah.yaml` may have `campaigns/rafah/statements/*.yaml`: each file holds one
statement (the keys of an item of `statements:`), read with the campaign and served with the
statements the campaign file lists. Accepted drafts from a campaign's feed are written here, as
new files: a file an organizer wrote or edited is never rewritten.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path

_SLUG_PART = re.compile(r"[^a-z0-9]+")


def statements_folder(campaign_file: Path) -> Path:
    """Return the folder of a campaign file's own statement files."""
    return campaign_file.with_suffix("") / "statements"


def statement_files(campaign_file: Path) -> list[Path]:
    """Return a campaign's statement files, in name order (none if it has no folder)."""
    folder = statements_folder(campaign_file)
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def file_name(date: str | None, title: str | None) -> str:
    """Return a file name for a statement: its date and the words of its title, in ASCII."""
    ascii_title = unicodedata.normalize("NFKD", title or "").encode("ascii", "ignore").decode()
    slug = _SLUG_PART.sub("-", ascii_title.lower()).strip("-")[:60].rstrip("-")
    return "-".join(part for part in (date, slug) if part) or "statement"


def write_statement(campaign_file: Path, text: str, name: str) -> Path:
    """Write one statement's YAML as a new file of the campaign's folder; return its path.

    Never overwrites: a taken name gets -2, -3, ... The file appears whole or not at all
    (written aside, then linked in under its name), so a reload never reads half of it.
    """
    folder = statements_folder(campaign_file)
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".draft-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        for number in range(1, 1000):
            target = folder / (f"{name}.yaml" if number == 1 else f"{name}-{number}.yaml")
            try:
                _link(temporary, target, text)
            except FileExistsError:
                continue
            return target
        raise FileExistsError(f"{folder}: no free name for {name}.yaml")
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _link(temporary: str, target: Path, text: str) -> None:
    """Give the written file its name, or raise FileExistsError if the name is taken."""
    try:
        os.link(temporary, target)  # fails if the name is taken: nothing is replaced
    except FileExistsError:
        raise
    except OSError:
        # A filesystem without hard links (some network and bind mounts): create the name
        # exclusively instead, which also never replaces a file.
        with target.open("x", encoding="utf-8") as out:
            out.write(text)
