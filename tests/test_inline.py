"""Inline mode: @bot in any chat offers the statement, the slogans and the actions to post."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.preview.updates import inline_query_update
from bot.storage import Storage

from .conftest import ANA, CAMPAIGNS, Harness, serving
from .test_cli import bot_command

LINK = "https://t.me/solidarity_preview_bot?start=rafah"
SEED_OPENING = "All eyes are on Rafah, where over 1.5 million Palestinians seek refuge"


async def ask(bot: Harness, query: str, offset: str = "") -> dict[str, Any]:
    """Type `@bot <query>`; return the bot's answer as the Bot API received it."""
    update = inline_query_update(query, user_id=ANA, offset=offset)
    await bot.feed(update)
    return bot.api.inline_answers[update["inline_query"]["id"]]


def titles(answer: dict[str, Any]) -> list[str]:
    return [result["title"] for result in answer["results"]]


async def test_everything_is_offered_ready_to_post(bot: Harness) -> None:
    answer = await ask(bot, "")
    results = answer["results"]
    assert len(results) == 1 + 6 + 7  # the statement, six slogans, seven actions
    statement = results[0]
    assert statement["title"].startswith("📄 ILPS Statement on the ‘flour massacre’")
    assert "Len Cooper" in statement["description"]
    message = statement["input_message_content"]["message_text"]
    assert SEED_OPENING in message  # the statement's own words, from its beginning
    # It ends as the statement does: its six closing slogans, then the signature.
    assert message.rstrip().endswith(
        "…\nStop the invasion of Rafah! End the siege of Gaza!\n"
        "End the arms support to Israel!\n"
        "Expose and oppose imperialist US, and its allies complicit to the genocide!\n"
        "Free Palestine!\nLong live international Solidarity!\nDown with US imperialism!"
        "\n\n— <b>Len Cooper</b>, ILPS Chairperson"
    )
    [[button]] = statement["reply_markup"]["inline_keyboard"]
    assert button == {"text": "Read it all", "url": LINK}
    assert "✊ Free Palestine!" in titles(answer)
    assert any(t == "📣 Demand an immediate ceasefire" for t in titles(answer))
    for result in results:  # Telegram's limits: the fake Bot API refuses anything beyond them
        assert len(result["id"].encode()) <= 64
        for row in (result.get("reply_markup") or {}).get("inline_keyboard", []):
            assert all("callback_data" not in b for b in row)
    assert not answer["next_offset"]  # nothing more


async def test_what_is_typed_filters_the_results(bot: Harness) -> None:
    assert titles(await ask(bot, "ceasefire")) == ["📣 Demand an immediate ceasefire"]
    found = titles(await ask(bot, "US imperialism"))
    assert found == ["✊ Down with US imperialism!"]
    assert titles(await ask(bot, "FREE palestine")) == ["✊ Free Palestine!"]
    assert titles(await ask(bot, "no such words anywhere")) == []


async def test_long_lists_come_50_at_a_time(storage: Storage, tmp_path: Path) -> None:
    folder = tmp_path / "campaigns"
    folder.mkdir()
    text = (CAMPAIGNS / "rafah.yaml").read_text(encoding="utf-8")
    many = "\n".join(f"  - Slogan number {n}" for n in range(120))
    text = text.replace("slogans:\n", f"slogans:\n{many}\n", 1)
    (folder / "rafah.yaml").write_text(text, encoding="utf-8")
    async with serving(storage, folder) as bot:
        pages, offset = [], ""
        while True:
            answer = await ask(bot, "", offset)
            pages.append(len(answer["results"]))
            if not answer["next_offset"]:
                break
            offset = str(answer["next_offset"])  # the fake decodes "50" to a number
    assert pages == [50, 50, 34]  # 1 statement + 126 slogans + 7 actions


def test_the_preview_shows_what_inline_mode_offers() -> None:
    done = bot_command("preview", stdin="@bot free palestine\n:quit\n")
    assert done.returncode == 0, done.stderr
    assert "📋 1 result(s) to post" in done.stdout
    assert "✊ Free Palestine! — Slogan · All eyes on Rafah" in done.stdout
