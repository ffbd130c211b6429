"""Telegram ids sealed at rest: the bytes every stored id becomes, with a key or without.

Issue 14.

A stored id is one version byte, then its payload:

- `0x00` + the id as 8 bytes, big-endian, signed: no key set. Readable by anyone, but the
  schema is the same with a key or without, so `rotate-key` switches without a migration.
- `0x01` + AES-SIV(key, the same 8 bytes, one associated data): 24 bytes, with a key.

Both are deterministic, so the same id is the same bytes in every table: lookups, unique keys,
joins and the outbox's INSERT ... SELECT all work on the stored bytes, inside the database.
Both are of fixed width, so the stored form does not tell a group's long id from a person's.
One associated data for every column, because a per-column one would make an id differ from
table to table and break the joins. What deterministic sealing still shows to whoever holds a
copy without the key: which rows belong to the same chat, and how many chats there are.

The key is bound to an engine's dialect (`bind`), which SQLAlchemy hands to every type's
processing, so several databases with different keys can be open in one process (tests,
`copy-db`, `rotate-key`) without a global or a context variable to get wrong across tasks.
"""

from __future__ import annotations

import struct
import weakref

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from sqlalchemy.engine import Dialect

PLAIN = 0x00
SEALED = 0x01
ASSOCIATED_DATA = [b"solidarity-bot id v1"]
# Another associated data for whole payloads (an update waiting in the inbox): a payload's
# bytes can never be passed off as an id's, nor the other way round.
PAYLOAD_DATA = [b"solidarity-bot payload v1"]
_ID = struct.Struct(">q")  # 8 bytes, big-endian, signed: every Telegram id fits


class SealError(Exception):
    """The ids cannot be read or written as stored: a missing, wrong or unexpected key."""


class Sealer:
    """Turns ids into their stored bytes and back, under one key (or none)."""

    def __init__(self, key: bytes | None = None) -> None:
        self._siv = None if key is None else AESSIV(key)

    @property
    def keyed(self) -> bool:
        """Tell whether ids are sealed under a key."""
        return self._siv is not None

    def seal(self, chat_id: int) -> bytes:
        """Return the bytes `chat_id` is stored as."""
        plain = _ID.pack(chat_id)
        if self._siv is None:
            return bytes((PLAIN,)) + plain
        return bytes((SEALED,)) + self._siv.encrypt(plain, ASSOCIATED_DATA)

    def unseal(self, stored: bytes) -> int:
        """Return the id `stored` holds; raise SealError if this sealer cannot read it."""
        version, payload = stored[0], bytes(stored[1:])
        if self._siv is None:
            if version != PLAIN:
                raise SealError("a stored id is sealed with a key, and no key is set")
            return int(_ID.unpack(payload)[0])
        if version != SEALED:
            raise SealError("a stored id is not sealed, and a key is set")
        try:
            return int(_ID.unpack(self._siv.decrypt(payload, ASSOCIATED_DATA))[0])
        except InvalidTag:
            raise SealError("a stored id is sealed with another key") from None

    def seal_bytes(self, data: bytes) -> bytes:
        """Return the stored form of a payload: as it is without a key, else encrypted."""
        if self._siv is None:
            return bytes((PLAIN,)) + data
        return bytes((SEALED,)) + self._siv.encrypt(data, PAYLOAD_DATA)

    def unseal_bytes(self, stored: bytes) -> bytes:
        """Return the payload `stored` holds; raise SealError if this sealer cannot read it."""
        version, payload = stored[0], bytes(stored[1:])
        if version != (PLAIN if self._siv is None else SEALED):
            raise SealError("a stored payload is sealed otherwise than the key set says")
        if self._siv is None:
            return payload
        try:
            return self._siv.decrypt(payload, PAYLOAD_DATA)
        except InvalidTag:
            raise SealError("a stored payload is sealed with another key") from None


def version_of(stored: bytes) -> int:
    """Return the version byte of a stored id (PLAIN or SEALED)."""
    return stored[0]


_BOUND: weakref.WeakKeyDictionary[Dialect, Sealer] = weakref.WeakKeyDictionary()


def bind(dialect: Dialect, sealer: Sealer) -> None:
    """Seal and unseal every id that passes through engines of this dialect with `sealer`."""
    _BOUND[dialect] = sealer


def sealer_of(dialect: Dialect) -> Sealer:
    """Return the sealer bound to `dialect`; raise SealError if there is none."""
    try:
        return _BOUND[dialect]
    except KeyError:
        raise SealError("no sealer is bound to this engine: open it through Storage") from None
