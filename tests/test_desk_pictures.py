"""A picture chosen on the phone and uploaded from the desk (issue 22): kept in the campaign's
folder under the rules of a picture a campaign file names, or refused in one sentence with
nothing left behind; over real HTTP, with initData signed as Telegram signs it."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from PIL import Image

from bot import texts
from bot.campaign import media
from bot.campaign.content import load_campaign
from bot.organizing import pictures
from bot.organizing.asking import Organizer, Refused
from bot.storage import Storage

from .conftest import ADMIN, serving
from .test_desk_api import OUTSIDER, Desk, desk_of, init_data
from .test_writing import folder_copy


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the shipped campaigns folder, to keep pictures in."""
    return folder_copy(tmp_path)


@pytest.fixture
async def desk(storage: Storage, folder: Path) -> AsyncIterator[Desk]:
    """The bot serving that folder, ADMIN as its organizer, and its desk."""
    async with serving(storage, folder) as bot, desk_of(bot) as served:
        yield served


def picture(kind: str = "PNG", size: tuple[int, int] = (64, 48), colour: int = 200) -> bytes:
    """Return a real picture made by Pillow, of this format and size."""
    out = io.BytesIO()
    Image.new("RGB", size, (colour, 30, 30)).save(out, kind)
    return out.getvalue()


async def upload(
    desk: Desk,
    file_name: str,
    data: bytes,
    campaign: str = "rafah",
    credential: str | None = None,
    field: str = "picture",
    quoted: bool = True,
) -> tuple[int, Any]:
    """POST a file as the page does (multipart/form-data); return the status and JSON. Its
    name goes %-encoded as aiohttp sends it, or (`quoted=False`) as UTF-8 as browsers do."""
    form = aiohttp.FormData(quote_fields=quoted)
    form.add_field(
        field, io.BytesIO(data), filename=file_name, content_type="application/octet-stream"
    )
    headers = {"Authorization": f"tma {credential or init_data()}"}
    url = f"{desk.url}api/campaigns/{campaign}/pictures"
    async with desk.session.post(url, data=form, headers=headers) as answer:
        return answer.status, await answer.json()


def listing(folder: Path) -> list[str]:
    """Return every file and folder under `folder`, hidden ones too."""
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*"))


async def test_a_picture_from_the_phone_is_kept_and_a_campaign_file_may_name_it(
    desk: Desk, folder: Path
) -> None:
    """A JPEG is kept under pictures/ by a safe name with its real extension, the path comes
    back as `image:` takes it, a campaign file naming it loads, and the audit log says so."""
    data = picture("JPEG")
    status, body = await upload(desk, "My Poster.PNG", data)  # a JPEG, whatever its name
    assert (status, body) == (200, {"path": "pictures/my-poster.jpg"})
    kept = folder / "rafah" / "pictures" / "my-poster.jpg"
    assert kept.read_bytes() == data
    assert listing(folder / "rafah") == ["pictures", "pictures/my-poster.jpg"]

    path = folder / "rafah.yaml"
    values = yaml.safe_load(path.read_text(encoding="utf-8"))
    values["actions"][0]["image"] = body["path"]
    path.write_text(yaml.safe_dump(values, allow_unicode=True), encoding="utf-8")
    image = load_campaign(path).actions[0].image
    assert image is not None
    assert (image.kind, image.path) == ("photo", kept.resolve())

    log = await desk.bot.storage.audit_log()
    assert (ADMIN, "campaign_picture", "rafah: pictures/my-poster.jpg") in [e[:3] for e in log]


async def test_a_picture_of_9_mb_is_taken_past_the_apis_1_mb_body_limit(
    desk: Desk, folder: Path
) -> None:
    """A 9 MB PNG is read as it arrives, not as a whole body, so aiohttp's client_max_size
    (1 MB on the desk's API) does not stop it."""
    noise = Image.frombytes("RGB", (1800, 1800), os.urandom(1800 * 1800 * 3))
    out = io.BytesIO()
    noise.save(out, "PNG", compress_level=1)
    data = out.getvalue()
    assert 9 * media.MB < len(data) <= media.PHOTO_BYTES
    status, body = await upload(desk, "noise.png", data)
    assert (status, body) == (200, {"path": "pictures/noise.png"})
    assert (folder / "rafah" / "pictures" / "noise.png").read_bytes() == data


async def test_a_text_file_named_jpg_is_refused_and_nothing_is_left(
    desk: Desk, folder: Path
) -> None:
    """Not an image: refused in media.py's sentence, under the name it came by; the folder
    is as it was (no pictures/ made, no file received aside left)."""
    before = listing(folder)
    status, body = await upload(desk, "notes.jpg", b"Meet at the square at noon.\n")
    assert status == 409
    assert body == {
        "error": "refused",
        "message": "notes.jpg: not an image Telegram can show; a picture must be a JPEG, "
        "PNG or WebP file",
    }
    assert listing(folder) == before


async def test_a_picture_out_of_telegrams_proportions_is_refused(desk: Desk, folder: Path) -> None:
    """A picture 21 times longer than wide: refused in media.py's words, nothing kept."""
    before = listing(folder)
    status, body = await upload(desk, "banner.png", picture(size=(2100, 100)))
    assert (status, body["message"]) == (
        409,
        "banner.png: 2100x100 pixels; Telegram takes pictures at most 20 times longer than wide",
    )
    assert listing(folder) == before


async def test_a_file_over_10_mb_is_refused_and_nothing_is_left(desk: Desk, folder: Path) -> None:
    """A PNG one byte over 10 MB: refused with the 10 MB sentence, the folder as it was."""
    before = listing(folder)
    data = picture() + bytes(media.PHOTO_BYTES + 1 - len(picture()))
    status, body = await upload(desk, "big.png", data)
    assert (status, body["message"]) == (409, texts.PICTURE_TOO_BIG.format(name="big.png"))
    assert listing(folder) == before


async def test_an_endless_upload_is_refused_having_read_10_mb_and_one_chunk(
    storage: Storage, folder: Path
) -> None:
    """An upload that never ends is refused once past 10 MB: no more of it is read than the
    chunk that went past, and nothing is left in the folder."""
    handed = 0

    async def endless(size: int) -> bytes:
        nonlocal handed
        handed += size
        assert handed < 2 * media.PHOTO_BYTES, "read on past the limit"
        return bytes(size)

    before = listing(folder)
    async with serving(storage, folder) as bot:
        content = bot.application.bot_data["services"].content
        with pytest.raises(Refused) as refused:
            await pictures.keep_picture(
                storage, content, Organizer(ADMIN, "Ana"), "rafah", "stream.png", endless
            )
    assert refused.value.text == texts.PICTURE_TOO_BIG.format(name="stream.png")
    assert media.PHOTO_BYTES < handed <= media.PHOTO_BYTES + pictures.CHUNK
    assert listing(folder) == before


@pytest.mark.parametrize(
    ("file_name", "quoted", "kept"),
    [
        ("../../../etc/Évil Name!.png", True, "evil-name.png"),
        ("../../../etc/Évil Name!.png", False, "evil-name.png"),
        ("..\\..\\rafah.yaml.png", True, "rafah-yaml.png"),
        ("/tmp/.hidden.png", True, "hidden.png"),
        ("صورة.png", True, "picture.png"),
        ("صورة.png", False, "picture.png"),
        ("..", True, "picture.png"),
    ],
    ids=[
        "up and out",
        "up and out, as a browser",
        "backslashes",
        "absolute, hidden",
        "no safe letters",
        "no safe letters, as a browser",
        "only dots",
    ],
)
async def test_a_name_with_a_path_in_it_is_made_safe_and_stays_in_pictures(
    desk: Desk, folder: Path, file_name: str, quoted: bool, kept: str
) -> None:
    """Whatever the name says, the picture is kept in pictures/ by lower-case letters, digits,
    - and _ of its last part, and nothing outside pictures/ changes."""
    before = listing(folder)
    status, body = await upload(desk, file_name, picture(), quoted=quoted)
    assert (status, body) == (200, {"path": f"pictures/{kept}"})
    assert listing(folder) == sorted(
        [*before, "rafah", "rafah/pictures", f"rafah/pictures/{kept}"]
    )


async def test_the_same_picture_twice_keeps_its_name_and_another_gets_the_next(
    desk: Desk, folder: Path
) -> None:
    """The same bytes again reuse the name they are kept by; other bytes by the same name
    are kept beside them as -2, then -3."""
    first, second, third = (picture(colour=c) for c in (10, 20, 30))
    answers = [
        await upload(desk, "poster.png", data) for data in (first, first, second, third, second)
    ]
    assert [body["path"] for _status, body in answers] == [
        "pictures/poster.png",
        "pictures/poster.png",
        "pictures/poster-2.png",
        "pictures/poster-3.png",
        "pictures/poster-2.png",
    ]
    kept = folder / "rafah" / "pictures"
    assert listing(kept) == ["poster-2.png", "poster-3.png", "poster.png"]
    assert [(kept / n).read_bytes() for n in ("poster.png", "poster-2.png", "poster-3.png")] == [
        first,
        second,
        third,
    ]


async def test_someone_who_is_not_an_organizer_keeps_nothing(desk: Desk, folder: Path) -> None:
    """Signed by Telegram but not in BOT_ADMINS: 403 as every desk call; no signature: 401;
    the folder as it was."""
    before = listing(folder)
    status, body = await upload(desk, "poster.png", picture(), credential=init_data(OUTSIDER))
    assert (status, body["error"], body["message"]) == (
        403,
        "forbidden",
        texts.DESK_NOT_ORGANIZER,
    )
    async with desk.session.post(
        f"{desk.url}api/campaigns/rafah/pictures", data={"picture": "x"}
    ) as answer:
        assert answer.status == 401
    assert listing(folder) == before


async def test_an_unknown_campaign_or_a_call_without_the_picture_is_refused(
    desk: Desk, folder: Path
) -> None:
    """No such campaign: the chat's sentence; a body that is not multipart, or whose part is
    not named "picture": 400 with the reason. Nothing kept."""
    before = listing(folder)
    status, body = await upload(desk, "poster.png", picture(), campaign="nope")
    assert (status, body["message"]) == (409, texts.DRAFT_NO_CAMPAIGN.format(campaign="nope"))
    status, body = await upload(desk, "poster.png", picture(), field="image")
    assert (status, body["reason"]) == (400, 'the first part is the file, named "picture"')
    headers = {"Authorization": f"tma {init_data()}"}
    async with desk.session.post(
        f"{desk.url}api/campaigns/rafah/pictures", json={"picture": "x"}, headers=headers
    ) as answer:
        assert answer.status == 400
        assert (await answer.json())["reason"] == "the picture comes as multipart/form-data"
    assert listing(folder) == before


async def test_a_folder_that_cannot_be_written_is_said_so(desk: Desk, folder: Path) -> None:
    """pictures/ cannot be made (a file holds its name): the save's sentence with the
    system's reason, and the folder as it was."""
    (folder / "rafah").mkdir()
    (folder / "rafah" / "pictures").write_text("in the way")
    before = listing(folder)
    status, body = await upload(desk, "poster.png", picture())
    assert status == 409
    assert body["message"] == texts.SAVE_CANNOT_WRITE.format(error="File exists")
    assert listing(folder) == before
