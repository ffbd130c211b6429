"""Pictures and files in campaigns: uploaded once, then sent by file id, after restarts too."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot import i18n, texts
from bot.campaign.content import load_campaigns
from bot.handlers import inline
from bot.preview.messages import Upload
from bot.preview.updates import inline_query_update
from bot.storage import Storage

from .conftest import ADMIN, ANA, BEN, ROOT, campaign_folder, serving
from .fake_telegram import FakeTelegram
from .test_cli import bot_command


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


# The bot sending them, through the real Application and the fake Bot API over HTTP

EXAMPLE = ROOT / "docs" / "examples" / "media"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the README's example campaign: a poster.png and a statement.pdf."""
    return Path(shutil.copytree(EXAMPLE, tmp_path / "campaigns"))


def sent(telegram: FakeTelegram, method: str, chat: int | None = None) -> list[Any]:
    """Return what each successful call of a method sent as its file: an Upload, or a file id."""
    field = "photo" if method == "sendPhoto" else "document"
    return [
        call.params[field]
        for call in telegram.api.calls_to(method)
        if call.error is None and (chat is None or int(call.params["chat_id"]) == chat)
    ]


def uploads(telegram: FakeTelegram, method: str = "sendPhoto") -> list[Upload]:
    """Return the files uploaded by a method, as their bytes arrived."""
    return [item for item in sent(telegram, method) if isinstance(item, Upload)]


async def test_statement_sends_its_picture_then_its_words_then_its_files(
    storage: Storage, folder: Path, telegram: FakeTelegram
) -> None:
    """/statement: the picture uploaded, the text with the menu button, the PDF with its title."""
    async with serving(storage, folder, telegram=telegram) as bot:
        await bot.command("/statement", user=ANA)
    photo, text, document = bot.sent_to(ANA)
    assert photo["content"] == (folder / "example" / "poster.png").read_bytes()
    assert "caption" not in photo
    assert text["text"].startswith("<b>Example statement</b>")
    assert text["reply_markup"]["inline_keyboard"][0][0]["text"] == texts.BUTTON_MENU
    assert document["content"] == (folder / "example" / "statement.pdf").read_bytes()
    assert document["document"]["file_name"] == "statement.pdf"
    assert document["caption"] == "The statement as a PDF"


async def test_a_file_is_uploaded_once_then_sent_by_its_file_id(
    storage: Storage, folder: Path, telegram: FakeTelegram
) -> None:
    """The second /statement, and the action whose poster is the same picture, send it by id."""
    async with serving(storage, folder, telegram=telegram) as bot:
        await bot.command("/statement", user=ANA)
        await bot.command("/statement", user=BEN)
        await bot.command("/actions", user=BEN)
    first, *again = sent(telegram, "sendPhoto")
    assert isinstance(first, Upload)
    photo_id = bot.sent_to(ANA)[0]["photo"][-1]["file_id"]
    assert again == [photo_id, photo_id]
    assert len(uploads(telegram, "sendDocument")) == 1
    assert sent(telegram, "sendDocument")[1] == bot.sent_to(ANA)[-1]["document"]["file_id"]


async def test_file_ids_outlive_a_restart_and_an_edited_file_is_uploaded_again(
    storage: Storage, folder: Path, telegram: FakeTelegram
) -> None:
    """After a restart (a new Application, the same database) nothing is uploaded again,
    until the picture's bytes change."""
    async with serving(storage, folder, telegram=telegram) as bot:
        await bot.command("/statement", user=ANA)
    assert len(uploads(telegram)) == 1
    async with serving(storage, folder, telegram=telegram) as bot:
        await bot.command("/statement", user=BEN)
    assert len(uploads(telegram)) == 1
    assert isinstance(sent(telegram, "sendPhoto", BEN)[0], str)
    Image.new("RGB", (64, 48), (0, 0, 200)).save(folder / "example" / "poster.png")
    async with serving(storage, folder, telegram=telegram) as bot:
        await bot.command("/statement", user=ANA)
    assert [u.content for u in uploads(telegram)][-1] == (
        folder / "example" / "poster.png"
    ).read_bytes()
    assert len(uploads(telegram)) == 2
    assert len(uploads(telegram, "sendDocument")) == 1  # the PDF did not change


async def test_a_file_id_telegram_no_longer_takes_is_forgotten_and_uploaded_again(
    storage: Storage, folder: Path, telegram: FakeTelegram
) -> None:
    """A refused file id ("wrong file identifier") costs one refused call, then one upload."""
    async with serving(storage, folder, telegram=telegram) as bot:
        await bot.command("/statement", user=ANA)
        telegram.api.lose_files()
        await bot.command("/statement", user=BEN)
        await bot.command("/statement", user=ANA)
    refused = [c for c in telegram.api.calls_to("sendPhoto") if c.error == 400]
    assert len(refused) == 1
    assert len(uploads(telegram)) == 2
    assert bot.sent_to(BEN)[0]["content"] == (folder / "example" / "poster.png").read_bytes()
    assert isinstance(sent(telegram, "sendPhoto", ANA)[-1], str)  # the new id, taken
    assert bot.sent_to(BEN)[1]["text"].startswith("<b>Example statement</b>")


async def test_two_people_asking_at_once_upload_the_picture_once(
    storage: Storage, folder: Path, telegram: FakeTelegram
) -> None:
    """Two /statement at the same moment: one upload; the other waits and sends by its id."""
    telegram.latency, telegram.slow_methods = 0.3, {"sendPhoto"}
    async with serving(storage, folder, telegram=telegram) as bot:
        await asyncio.gather(
            bot.command("/statement", user=ANA), bot.command("/statement", user=BEN)
        )
    assert len(uploads(telegram)) == 1
    assert len(sent(telegram, "sendPhoto")) == 2
    assert "photo" in bot.sent_to(ANA)[0]
    assert "photo" in bot.sent_to(BEN)[0]


async def test_actions_come_with_their_posters(
    storage: Storage, folder: Path, telegram: FakeTelegram
) -> None:
    """/actions: each action's poster, captioned with its number and title, above the list."""
    async with serving(storage, folder, telegram=telegram) as bot:
        await bot.command("/actions", user=ANA)
    poster, actions = bot.sent_to(ANA)
    assert poster["caption"] == "<b>1. Example action</b>"
    assert poster["content"] == (folder / "example" / "poster.png").read_bytes()
    assert "1. <b>Example action</b>" in actions["text"]


async def test_announce_broadcasts_the_picture_and_the_file_by_file_id(
    storage: Storage, folder: Path, telegram: FakeTelegram
) -> None:
    """/announce uploads the files at the preview (the upload message then deleted); every
    subscriber gets the picture, the words and the PDF, by file id."""
    async with serving(storage, folder, telegram=telegram) as bot:
        await bot.command("/subscribe", user=ANA)
        await bot.command("/subscribe", user=BEN)
        await bot.command("/announce", user=ADMIN)
        assert len(telegram.api.calls_to("deleteMessage")) == 2  # the picture's, the PDF's
        photo, text, document, question = bot.sent_to(ADMIN)
        assert "Send it?" in question["text"]
        await bot.press(
            bot.buttons(ADMIN)[texts.BUTTON_SEND], user=ADMIN, message_id=question["message_id"]
        )
        await bot.settle()
    photo_id = photo["photo"][-1]["file_id"]
    assert len(uploads(telegram)) == len(uploads(telegram, "sendDocument")) == 1
    for person in (ANA, BEN):
        got = bot.sent_to(person)[1:]  # after "You will get updates"
        assert [m["photo"][-1]["file_id"] for m in got[:1]] == [photo_id]
        assert got[1]["text"] == text["text"]
        assert got[2]["document"]["file_id"] == document["document"]["file_id"]
        assert got[2]["caption"] == "The statement as a PDF"
        assert sent(telegram, "sendPhoto", person) == [photo_id]


async def test_inline_offers_the_picture_once_telegram_has_it(
    storage: Storage, folder: Path, telegram: FakeTelegram
) -> None:
    """Inline mode offers words alone until the picture was sent once, then the picture with
    the words as its caption."""
    async with serving(storage, folder, telegram=telegram) as bot:
        await bot.feed(inline_query_update("example", user_id=ANA))
        before = list(telegram.api.inline_answers.values())[-1]["results"]
        await bot.command("/statement", user=BEN)
        await bot.feed(inline_query_update("example", user_id=ANA))
        after = list(telegram.api.inline_answers.values())[-1]["results"]
    assert [r["type"] for r in before] == ["article", "article"]
    photo_id = bot.sent_to(BEN)[0]["photo"][-1]["file_id"]
    assert [(r["type"], r["photo_file_id"]) for r in after] == [("photo", photo_id)] * 2
    statement, action = after
    assert statement["caption"].startswith("<b>Example statement</b>\n\nThe statement's first")
    assert statement["caption"].endswith("…\n— <b>Example Organization</b>")
    assert statement["reply_markup"]["inline_keyboard"][0][0]["text"] == texts.INLINE_READ_ALL
    assert action["caption"].startswith("<b>Example action</b>")


async def test_a_picture_telegram_cannot_fetch_leaves_the_words(
    storage: Storage, tmp_path: Path, telegram: FakeTelegram
) -> None:
    """A picture named by URL is sent as the URL and then by its id; when Telegram cannot
    fetch it, the statement's words still go out."""
    text = (
        (EXAMPLE / "example.yaml")
        .read_text()
        .replace("image: poster.png", "image: https://example.org/p.jpg")
    )
    folder = campaign_folder(tmp_path, text.replace("statement.pdf", "https://example.org/s.pdf"))
    async with serving(storage, folder, telegram=telegram) as bot:
        telegram.api.fail_next(400, "Bad Request: failed to get HTTP URL content", chat_id=ANA)
        await bot.command("/statement", user=ANA)
        await bot.command("/statement", user=BEN)
        await bot.command("/statement", user=BEN)
    assert bot.sent_to(ANA)[0]["text"].startswith("<b>Example statement</b>")
    assert "photo" in bot.sent_to(BEN)[0]
    first, again = sent(telegram, "sendPhoto", BEN)
    assert first == "https://example.org/p.jpg"
    assert again == bot.sent_to(BEN)[0]["photo"][-1]["file_id"]
    assert sent(telegram, "sendDocument", ANA) == ["https://example.org/s.pdf"]
    assert sent(telegram, "sendDocument", BEN) == [bot.sent_to(ANA)[-1]["document"]["file_id"]] * 2


def test_the_preview_shows_pictures_and_files_by_name() -> None:
    """The offline preview prints each picture and file sent, by its file's name, as the
    README shows; the second time it is sent by file id, under the same name."""
    typed = "/statement\n/actions\n@bot example\n/subscribe\n/announce\n"
    done = bot_command("preview", env={"CAMPAIGNS_DIR": str(EXAMPLE)}, stdin=typed)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    statement = out.split("> /statement", 1)[1].split("> /actions")[0]
    assert statement.index("🖼 an image (poster.png)") < statement.index("Example statement")
    assert "📎 a document (statement.pdf): The statement as a PDF" in statement
    assert "🖼 an image (poster.png): 1. Example action" in out
    assert "📄 Example statement — Example Organization · 1 December 2026" in out
    assert out.count("[with its picture]") == 2
    announced = out.split("> /announce", 1)[1]
    assert announced.count("🖼 an image (poster.png)") == 1  # by file id: no upload to delete
    assert "deleted" not in announced
    assert "Messages per recipient: 3." in announced


def test_the_readme_example_campaign_validates() -> None:
    """`validate` accepts the README's example campaign, its picture and its file."""
    done = bot_command("validate", env={"CAMPAIGNS_DIR": str(EXAMPLE)})
    assert done.returncode == 0, done.stderr
    assert "ok: example" in done.stdout


async def test_a_file_gone_from_the_folder_leaves_the_words(
    storage: Storage, folder: Path, telegram: FakeTelegram
) -> None:
    """A picture deleted after the campaign was loaded is left out of /statement and of inline
    results; the words still go."""
    async with serving(storage, folder, telegram=telegram) as bot:
        (folder / "example" / "poster.png").unlink()
        await bot.command("/statement", user=ANA)
        await bot.feed(inline_query_update("example", user_id=ANA))
    text, document = bot.sent_to(ANA)
    assert text["text"].startswith("<b>Example statement</b>")
    assert document["document"]["file_name"] == "statement.pdf"
    results = list(telegram.api.inline_answers.values())[-1]["results"]
    assert [r["type"] for r in results] == ["article", "article"]


async def test_announce_checks_a_kept_file_id_and_uploads_again_if_telegram_lost_it(
    storage: Storage, folder: Path, telegram: FakeTelegram
) -> None:
    """/announce asks Telegram (getFile) whether it still has each kept file id: kept ids
    go as they are; lost ones are uploaded again before the broadcast is stored."""
    async with serving(storage, folder, telegram=telegram) as bot:
        await bot.command("/subscribe", user=ANA)
        await bot.command("/statement", user=ANA)
        await bot.command("/announce", user=ADMIN)
        assert len(telegram.api.calls_to("getFile")) == 2
        assert telegram.api.calls_to("deleteMessage") == []
        assert len(uploads(telegram)) == 1
        telegram.api.lose_files()
        await bot.command("/announce", user=ADMIN)
        question = bot.last(ADMIN)
        await bot.press(
            bot.buttons(ADMIN)[texts.BUTTON_SEND], user=ADMIN, message_id=question["message_id"]
        )
        await bot.settle()
    assert len(uploads(telegram)) == len(uploads(telegram, "sendDocument")) == 2
    new_id = await storage.uploaded_file_id(
        "sha256:" + hashlib.sha256((folder / "example" / "poster.png").read_bytes()).hexdigest(),
        "photo",
    )
    assert new_id is not None
    assert sent(telegram, "sendPhoto", ANA)[-1] == new_id
    assert "photo" in bot.sent_to(ANA)[-3]
    assert bot.sent_to(ANA)[-1]["caption"] == "The statement as a PDF"


def test_a_long_opening_leaves_the_picture_its_title_and_signature(folder: Path) -> None:
    """Under a picture (1,024 characters), a statement whose first paragraph is too long keeps
    its title and signature; an action too long for a caption is offered as text."""
    text = (folder / "example.yaml").read_text()
    text = text.replace("The statement's first paragraph.", "Long. " * 300)
    text = text.replace("What the action asks people to do.", "Join. " * 200)
    (folder / "example.yaml").write_text(text)
    content = load_campaigns(folder)
    poster = content.default.statement.image
    assert poster is not None
    with i18n.speaking("en"):
        statement, action = inline.items(content, "bot", {poster: "photo-1"})
    assert statement.result().to_dict()["caption"] == (
        "<b>Example statement</b>\n…\n— <b>Example Organization</b>"
    )
    assert action.result().to_dict()["type"] == "article"
