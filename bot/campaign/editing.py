"""Changing a campaign file from the desk (issue 22, item 2): the file stays the organizer's.

Only what changed is written: the rest keeps its comments, order, quoting and formatting, byte
for byte (ruamel.yaml's round trip; PyYAML, which loads the campaigns, drops comments). A file
the round trip would reformat is refused rather than rewritten; a file changed on disk since
the desk read it is refused with what changed there; the new text is written aside and moved
in, so a crash never leaves half a file.
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class EditError(Exception):
    """A change that cannot be written as asked; says why in one sentence."""


class ChangedOnDisk(EditError):
    """The file changed since it was read: `diff` says how (a unified diff)."""

    def __init__(self, path: Path, diff: str) -> None:
        super().__init__(f"{path.name} changed on disk since it was opened: nothing was written")
        self.diff = diff


def _round_trip() -> YAML:
    yaml = YAML()  # round trip: comments, order and styles kept
    yaml.preserve_quotes = True
    yaml.width = 4096  # long lines stay long: never folded anew
    # The campaign files' style: mappings by 2, a list's dash 2 in under its key.
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _dumped(yaml: YAML, data: Any) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def edited(text: str, changes: Mapping[str, Any], name: str = "the file") -> str:
    """Return `text` with its top-level keys in `changes` set to their new values (None
    removes one), everything else as it was. EditError if `text` is not one the round trip
    keeps as it is."""
    yaml = _round_trip()
    data = _loaded(yaml, text, name)
    changed = [key for key, value in changes.items() if _plain(data.get(key)) != _plain(value)]
    if not changed:
        return text  # the same values: nothing to write, however the file is laid out
    if _dumped(yaml, data) != text:
        raise EditError(
            f"{name} is laid out in a way the desk would change (indentation, line folding): "
            "edit it by hand, or let the desk rewrite it once from a copy"
        )
    for key in changed:
        if changes[key] is None:
            data.pop(key, None)
        else:
            data[key] = _merged(data.get(key), changes[key])
    return _dumped(yaml, data)


def changed_keys(text: str, changes: Mapping[str, Any], name: str = "the file") -> list[str]:
    """Return the keys of `changes` whose values differ from the file's (an emptied key and a
    missing one are the same)."""
    data = _loaded(_round_trip(), text, name)
    return [key for key, value in changes.items() if _plain(data.get(key)) != _plain(value)]


def _loaded(yaml: YAML, text: str, name: str) -> CommentedMap:
    try:
        data = yaml.load(text)
    except YAMLError as error:
        raise EditError(f"{name} cannot be read as YAML: {error}") from error
    if not isinstance(data, CommentedMap):
        raise EditError(f"{name} does not hold keys and values")
    return data


def _merged(old: Any, new: Any) -> Any:
    """Return `new` built into `old` where they agree, so that what did not change keeps its
    comments and style: lists item by item, mappings key by key, text in its old style."""
    if isinstance(old, CommentedSeq) and isinstance(new, list):
        _merge_list(old, new)
        return old
    if isinstance(old, CommentedMap) and isinstance(new, Mapping):
        # A key left out goes, unless it was empty already (an `image:` left for later).
        for key in [k for k in old if k not in new and _plain(old[k]) is not None]:
            del old[key]
        for key, value in new.items():
            old[key] = _merged(old.get(key), value)
        return old
    if isinstance(new, str):
        if isinstance(old, str) and old.strip() == new.strip():
            return old  # unchanged but for the spaces around it (a block's last line break)
        if old is not None and not isinstance(old, str) and _written(old) == new:
            return old  # a date or number, as the file writes it
        if isinstance(old, str) and old.endswith("\n") and not new.endswith("\n"):
            new += "\n"  # a block keeps its way of ending (| rather than |-)
        if isinstance(old, LiteralScalarString) or "\n" in new:  # lines kept as written
            return LiteralScalarString(new)
        if isinstance(old, FoldedScalarString):
            return FoldedScalarString(new)
        if (old is None or isinstance(old, dt.date)) and _DAY.fullmatch(new):
            try:
                return dt.date.fromisoformat(new)  # a day, as the file writes one (unquoted)
            except ValueError:
                return new  # not one: the validator says so
        return new
    if isinstance(new, Mapping):
        return CommentedMap((k, _merged(None, v)) for k, v in new.items())
    if isinstance(new, list):
        return CommentedSeq(_merged(None, v) for v in new)
    return new


def _merge_list(old: CommentedSeq, new: list[Any]) -> None:
    """Change `old` into `new` with the fewest insertions and deletions; an item changed in
    place keeps its position, and so its comments."""
    # What follows the list (the blank line and comments before the next key) is kept with
    # its last item: it stays after whichever item is last.
    after = old.ca.items.pop(len(old) - 1, None) if len(old) else None
    plain_old = [_plain(item) for item in old]
    plain_new = [_plain(item) for item in new]
    matcher = difflib.SequenceMatcher(a=plain_old, b=plain_new, autojunk=False)
    opcodes = matcher.get_opcodes()
    # An item taken out here and put in there has moved: it goes in as it was written.
    moving: dict[Any, list[Any]] = {}
    for tag, i1, i2, j1, j2 in opcodes:
        if tag in ("delete", "replace"):
            pairs = min(i2 - i1, j2 - j1) if tag == "replace" else 0
            for index in range(i1 + pairs, i2):
                moving.setdefault(plain_old[index], []).append(old[index])
    # From the end, so that the indexes still to change stay where they were.
    for tag, i1, i2, j1, j2 in reversed(opcodes):
        if tag == "equal":
            continue
        pairs = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for offset in range(pairs):
            old[i1 + offset] = _merged(old[i1 + offset], new[j1 + offset])
        for index in range(i2 - 1, i1 + pairs - 1, -1):
            del old[index]
        for offset, value in enumerate(new[j1 + pairs : j2]):
            kept = moving.get(plain_new[j1 + pairs + offset])
            old.insert(i1 + pairs + offset, kept.pop(0) if kept else _merged(None, value))
    if after is not None and len(old):
        old.ca.items[len(old) - 1] = after


def _written(value: Any) -> str:
    """Return a scalar the round trip read as a date, number or yes/no, as YAML writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _plain(value: Any) -> Any:
    """Return a value as the words it holds, to compare (hashable): text without the spaces
    around it, a date or number as written, keys in order, and empty (None, "", [], {}) as
    None, so that the desk's values (all text) compare with the file's."""
    if isinstance(value, Mapping):
        items = ((str(k), _plain(v)) for k, v in value.items())
        found: Any = tuple(sorted((k, v) for k, v in items if v is not None))
    elif isinstance(value, list):
        found = tuple(_plain(v) for v in value)
    elif isinstance(value, str):
        found = value.strip()
    elif value is None:
        found = None
    else:
        found = _written(value)
    return found or None


def save(changes: Sequence[tuple[Path, str, str]]) -> None:
    """Write each file's new text over it, read by the desk as opened: (path, opened, new).
    All are written aside, then moved in, so that no file is written unless all can be.
    ChangedOnDisk (with what changed there) if a file is no longer what was opened, and
    nothing written; OSError as the system says (a read-only folder, say)."""
    for path, opened, _new_text in changes:
        current = path.read_text(encoding="utf-8")
        if current != opened:
            raise ChangedOnDisk(path, changes_between(opened, current, path.name))
    asides = [(path.with_name(f".{path.name}.saving"), path) for path, _opened, _new in changes]
    try:
        for (aside, _path), (_same, _opened, new_text) in zip(asides, changes, strict=True):
            aside.write_text(new_text, encoding="utf-8")
        for aside, path in asides:
            os.replace(aside, path)
    finally:
        for aside, _path in asides:
            aside.unlink(missing_ok=True)


def changes_between(before: str, after: str, name: str) -> str:
    """Return a unified diff of two texts of a file, for an organizer to see what changed."""
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"{name} (opened)",
            tofile=f"{name} (now)",
        )
    )
