"""Shared fixtures: storage on SQLite (always) and PostgreSQL (when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import Storage, _Base

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGNS = ROOT / "campaigns"
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")


def _database_params() -> list[object]:
    params: list[object] = ["sqlite"]
    if POSTGRES_URL:
        params.append(pytest.param("postgres", marks=pytest.mark.postgres))
    return params


async def open_storage(kind: str, tmp_path: Path) -> Storage:
    """Return an empty storage of the given kind."""
    if kind == "sqlite":
        return await Storage.open(f"sqlite:///{tmp_path / 'test.db'}")
    storage = Storage.connect(POSTGRES_URL)
    async with storage.engine.begin() as connection:
        await connection.run_sync(_Base.metadata.drop_all)
    await storage.create_schema()
    return storage


@pytest.fixture(params=_database_params())
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """An empty database: SQLite, and PostgreSQL too when TEST_DATABASE_URL names one."""
    opened = await open_storage(request.param, tmp_path)
    yield opened
    await opened.close()
