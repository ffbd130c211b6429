"""Pictures and files in campaigns: uploaded once, then sent by file id, after restarts too."""

from __future__ import annotations

from pathlib import Path

from bot.storage import Storage


async def test_an_uploads_file_id_is_kept_replaced_and_forgotten(storage: Storage) -> None:
    """A file's id is kept per key and kind, replaced by a newer one, forgotten only as given."""
    assert await storage.uploaded_file_id("sha256:aa", "photo") is None
    await storage.remember_upload("sha256:aa", "photo", "id-1")
    await storage.remember_upload("sha256:aa", "document", "id-2")
    assert await storage.uploaded_file_id("sha256:aa", "photo") == "id-1"
    assert await storage.uploaded_file_id("sha256:aa", "document") == "id-2"
    await storage.remember_upload("sha256:aa", "photo", "id-3")
    assert await storage.uploaded_file_id("sha256:aa", "photo") == "id-3"
    await storage.forget_upload("sha256:aa", "photo", "id-1")  # an id already replaced
    assert await storage.uploaded_file_id("sha256:aa", "photo") == "id-3"
    await storage.forget_upload("sha256:aa", "photo", "id-3")
    assert await storage.uploaded_file_id("sha256:aa", "photo") is None
    assert await storage.uploaded_file_id("sha256:aa", "document") == "id-2"


async def test_a_long_url_is_kept_under_its_hash(storage: Storage) -> None:
    """A URL longer than the key column still keeps its file id, apart from a similar one."""
    long_url = "https://example.org/" + "a" * 2000 + ".pdf"
    await storage.remember_upload(long_url, "document", "id-long")
    assert await storage.uploaded_file_id(long_url, "document") == "id-long"
    assert await storage.uploaded_file_id(long_url[:-5] + "b.pdf", "document") is None


async def test_file_ids_are_kept_when_the_database_is_opened_again(tmp_path: Path) -> None:
    """A file id outlives the process that stored it."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    first = await Storage.open(url)
    await first.remember_upload("sha256:bb", "photo", "id-kept")
    await first.close()
    again = await Storage.open(url)
    try:
        assert await again.uploaded_file_id("sha256:bb", "photo") == "id-kept"
    finally:
        await again.close()
