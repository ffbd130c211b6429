"""Languages: interface catalogs, translated campaigns, /language, broadcasts per language."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from sqlalchemy import event

from bot import i18n, texts
from bot.campaign.content import ContentError, load_campaigns
from bot.delivery.reminders import Reminders, starts_at
from bot.delivery.sender import duration
from bot.handlers.flood import FloodGuard
from bot.handlers.language_choices import LanguageChoices
from bot.organizing.sending import split_languages
from bot.preview.updates import inline_query_update
from bot.schedule import describe_lead
from bot.storage import Storage

from .conftest import ADMIN, ANA, BEN, Harness, campaign_folder, serving, until

CARLA, DARIO = 3003, 3004
GROUP = -1009876
CAMPAIGN = """\
id: demo
language: en
title:
  en: Stop the war
  ar: أوقفوا الحرب
  es: Alto a la guerra
organization: {en: Demo Collective, ar: تجمع التجربة, es: Colectivo Demo}
statements:
  - title: {en: We stand together, ar: نقف معًا, es: Estamos juntos}
    date: 2026-11-01
    author: Jane Doe
    role: {en: spokesperson, ar: متحدثة, es: portavoz}
    body:
      en: |
        First paragraph in English.
      ar: |
        الفقرة الأولى بالعربية.
      es: |
        Primer párrafo en español.
    closing:
      - {en: Free Palestine!, ar: فلسطين حرة!, es: ¡Palestina libre!}
      - Ceasefire now!
slogans:
  - {en: Free Palestine!, ar: فلسطين حرة!, es: ¡Palestina libre!}
  - Ceasefire now!
actions:
  - title: {en: March to the embassy, ar: مسيرة إلى السفارة, es: Marcha a la embajada}
    description: {en: Meet at the square., ar: نلتقي في الساحة., es: Nos vemos en la plaza.}
    date: 2027-03-09
    time: "14:00"
"""
LANGUAGE_LINE = re.compile(r"^\[\w+\]$", re.MULTILINE)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return campaign_folder(tmp_path, CAMPAIGN)


async def chosen(storage: Storage, chat_id: int) -> str | None:
    """Return the language a chat chose, as stored."""
    return (await storage.chosen_languages()).get(chat_id)


def placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"\{[^}]*\}", text))


def tags(text: str) -> list[str]:
    return sorted(re.findall(r"</?[a-z]+[^>]*>", text))


# Catalogs


def test_the_template_holds_every_message_of_texts_py() -> None:
    """The .pot template is extracted from texts.py as it is now: no message left out."""
    extracted = {
        message
        for _line, message, _comments, _context in extract_from_file(
            "python", str(Path(i18n.__file__).with_name("texts.py")), keywords={"N_": None}
        )
    }
    with (i18n.LOCALES / "messages.pot").open("rb") as file:
        template = {m.id for m in read_po(file) if m.id}
    assert extracted == template, "run the pybabel extract command in the README"
    assert texts.WELCOME in template
    assert texts.HELP in template


@pytest.mark.parametrize("language", ["ar", "es"])
def test_every_message_is_translated_with_the_same_placeholders_and_tags(language: str) -> None:
    """Each catalog translates every message, keeping its {placeholders}, tags and commands."""
    with (i18n.LOCALES / "messages.pot").open("rb") as file:
        template = [m.id for m in read_po(file) if m.id]
    catalog = i18n._catalog(language)
    missing = [m for m in template if m not in catalog]
    assert not missing, f"{language} lacks {missing[:3]}"
    for message in template:
        translated = catalog[message]
        assert placeholders(translated) == placeholders(message), message
        assert tags(translated) == tags(message), message
        assert translated.count("\n") == message.count("\n"), message
        for command in re.findall(r"/[a-z]+\b", message):
            assert command in translated, (command, message)
        words = re.sub(r"\{[^}]*\}|<[^>]+>|/[a-z]+", "", message)
        if re.search(r"[A-Za-z]{3,}", words):  # words to translate, not only {title} or tags
            assert translated != message, message


def test_arabic_interface_lines_read_right_to_left() -> None:
    """Every line of every Arabic message starts right-to-left, as Telegram lays lines out."""
    with (i18n.LOCALES / "messages.pot").open("rb") as file:
        template = [m.id for m in read_po(file) if m.id]
    for message in template:
        for line in i18n.translate(message, "ar").split("\n"):
            assert not line or i18n.starts_rtl(line), (message, line)
    # A line starting with a command or a number would read left to right without the mark.
    help_lines = i18n.translate(texts.HELP, "ar").split("\n")
    assert help_lines[1].startswith(i18n.RLM + "/statement")
    assert not i18n.starts_rtl("/statement — " + "البيان")
    assert i18n.translate(texts.HELP, "es").count(i18n.RLM) == 0


def test_a_readers_language_is_matched_by_its_base() -> None:
    """es-419 is served Spanish, pt-br nothing it lacks, and a bad tag nothing."""
    assert i18n.match("es-419", ("en", "es")) == "es"
    assert i18n.match("ES_mx", ("es",)) == "es"
    assert i18n.match("pt-br", ("en", "es")) is None
    assert i18n.match("not a tag!", ("en",)) is None
    assert i18n.interface_for("fr") == "en"
    assert i18n.interface_for("fr", fallback="ar") == "ar"
    assert i18n.language_name("ar") == "العربية"
    assert i18n.language_name("es") == "Español"


# Campaign translations


def test_a_campaign_is_read_in_each_of_its_languages(folder: Path) -> None:
    """Each translated text has a version per language; untranslated ones stay as written."""
    campaign = load_campaigns(folder).campaigns[0]
    assert campaign.languages == ("en", "ar", "es")
    arabic = campaign.in_language("ar")
    assert (arabic.title, arabic.slogans) == ("أوقفوا الحرب", ["فلسطين حرة!", "Ceasefire now!"])
    assert arabic.statement.body.strip() == "الفقرة الأولى بالعربية."
    assert arabic.statement.author == "Jane Doe"  # written once, the same in every language
    assert arabic.statement.closing == ["فلسطين حرة!", "Ceasefire now!"]  # line by line
    assert campaign.in_language("es-419").title == "Alto a la guerra"
    assert campaign.in_language("de").title == "Stop the war"
    assert campaign.in_language(None) is campaign
    # A pledge is the same whichever language it was made in.
    assert arabic.action_key(arabic.actions[0]) == campaign.action_key(campaign.actions[0])


def test_translation_mistakes_are_located(folder: Path) -> None:
    """A bad tag, a missing main-language text, an empty text each get file:line:col."""
    (folder / "demo.yaml").write_text(
        CAMPAIGN.replace("  en: Stop the war\n", "  EN: Stop the war\n").replace(
            "es: Colectivo Demo}", "es: ''}"
        ),
        encoding="utf-8",
    )
    with pytest.raises(ContentError) as raised:
        load_campaigns(folder)
    problems = [str(p).split("demo.yaml:")[1] for p in raised.value.problems]
    assert problems == [
        "4:3: title: 'EN' is not a language tag; write it like en, ar, es or pt-br",
        "4:3: title: has no 'en' text (the campaign's `language:`)",
        "7:59: organization.es: must not be empty",
    ]


# The bot in each language


async def test_each_reader_gets_their_telegram_language(storage: Storage, folder: Path) -> None:
    """Arabic, Spanish (es-419) and German readers get Arabic, Spanish and English."""
    async with serving(storage, folder) as bot:
        await bot.command("/start", user=ANA, language_code="ar")
        await bot.command("/start", user=BEN, language_code="es-419")
        await bot.command("/start", user=CARLA, language_code="de")
        arabic, spanish, other = bot.texts(ANA)[-1], bot.texts(BEN)[-1], bot.texts(CARLA)[-1]
    assert "أوقفوا الحرب" in arabic
    assert "تجمع التجربة" in arabic
    assert all(i18n.starts_rtl(line) for line in arabic.split("\n") if line)
    assert "Alto a la guerra" in spanish
    assert "Colectivo Demo" in spanish
    assert spanish.startswith(i18n.translate(texts.WELCOME, "es").split("<b>")[0])
    assert other.startswith("Welcome. This bot shares <b>Stop the war</b>")
    assert i18n.translate(texts.BUTTON_STATEMENT, "ar") in bot.buttons(ANA)


async def test_language_is_chosen_kept_and_given_back(storage: Storage, folder: Path) -> None:
    """/language stores a choice that beats Telegram's; Automatic forgets it; /forget too."""
    # Many presses in a row: a busy test, not a flood.
    async with serving(storage, folder, flood_guard=FloodGuard(burst=100)) as bot:
        await bot.command("/language", user=ANA)
        assert bot.buttons(ANA)["العربية"] == "lang:ar"
        assert "✅ English" in bot.buttons(ANA)
        await bot.press("lang:es", user=ANA)
        assert await chosen(storage, ANA) == "es"
        assert "Alto a la guerra" in bot.texts(ANA)[-1]  # the menu again, in Spanish
        await bot.command("/statement", user=ANA, language_code="en")
        assert bot.texts(ANA)[-1].startswith("<b>Estamos juntos</b>")
        await bot.command("/mydata", user=ANA)
        assert (
            i18n.translate(texts.MYDATA_LANGUAGE, "es").format(language="es")
            in (bot.texts(ANA)[-1])
        )
        await bot.press("lang:auto", user=ANA, language_code="ar")
        assert await chosen(storage, ANA) is None
        await bot.command("/statement", user=ANA, language_code="ar")
        assert bot.texts(ANA)[-1].startswith("<b>نقف معًا</b>")
        await bot.press("lang:es", user=ANA)
        await bot.press("forget:yes", user=ANA)
        assert await chosen(storage, ANA) is None
        await bot.command("/slogans", user=ANA)  # the bot forgot too: English again
        assert bot.texts(ANA)[-1].startswith(texts.SLOGANS_TITLE)
        await bot.press("lang:xx-forged", user=ANA)  # only the languages offered are taken
        assert bot.answers()[-1].params["text"] == texts.BUTTON_EXPIRED
        assert await chosen(storage, ANA) is None


async def test_a_language_the_campaign_lacks_is_said(bot: Harness) -> None:
    """Choosing Arabic for the English-only Rafah campaign says its texts stay English."""
    await bot.command("/language", user=ANA)
    asked = int(bot.last(ANA)["message_id"])
    await bot.press("lang:ar", user=ANA, message_id=asked)
    notice = bot.texts(ANA)[-2]  # the question, answered in place; then the menu
    with i18n.speaking("ar"):
        chosen = i18n.gettext(texts.LANGUAGE_CHOSEN).format(name="العربية")
        lacking = i18n.gettext(texts.CONTENT_LANGUAGES).format(
            title="All eyes on Rafah",
            languages="الإنجليزية",
            default="الإنجليزية",
        )
    assert notice == f"{chosen}\n\n{lacking}"
    assert bot.texts(ANA)[-1].startswith(i18n.translate(texts.WELCOME, "ar")[:10])


async def test_only_group_admins_choose_a_groups_language(storage: Storage, folder: Path) -> None:
    """A member's press is refused; an admin's sets the group's language for everyone."""
    async with serving(storage, folder) as bot:
        await bot.press("lang:ar", user=ANA, chat=GROUP)
        assert bot.answers()[-1].params["text"] == texts.GROUP_ADMINS_ONLY
        assert await chosen(storage, GROUP) is None
        bot.api.member_status[(GROUP, BEN)] = "administrator"
        await bot.press("lang:ar", user=BEN, chat=GROUP)
        assert await chosen(storage, GROUP) == "ar"
        await bot.command("/slogans", user=ANA, chat=GROUP, chat_type="supergroup")
        assert "فلسطين حرة!" in bot.texts(GROUP)[-1]


async def test_command_menus_are_published_in_each_language(
    storage: Storage, folder: Path
) -> None:
    """The command list is set for Arabic and Spanish apps too, for everyone and organizers."""
    async with serving(storage, folder) as bot:
        calls = bot.api.calls_to("setMyCommands")
    by_language = {c.params.get("language_code"): c for c in calls}
    assert set(by_language) == {None, "ar", "es"}
    arabic = {c["command"]: c["description"] for c in by_language["ar"].params["commands"]}
    assert arabic["language"] == i18n.translate("Choose the language I speak", "ar")


# Broadcasts


async def _send(bot: Harness, command: str) -> None:
    await bot.command(command, user=ADMIN)
    confirm_id = int(bot.last(ADMIN)["message_id"])
    await bot.press(bot.buttons(ADMIN)[texts.BUTTON_SEND], user=ADMIN, message_id=confirm_id)
    await bot.settle()


async def test_a_broadcast_carries_a_text_per_language(storage: Storage, folder: Path) -> None:
    """[ar] and [es] lines start other texts; each reader gets theirs, others the main one."""
    async with serving(storage, folder) as bot:
        await storage.subscribe(ANA, "demo", chat_type="private", language_code="ar")
        await storage.subscribe(BEN, "demo", chat_type="private", language_code="es-mx")
        await storage.subscribe(CARLA, "demo", chat_type="private", language_code="de")
        await storage.subscribe(DARIO, "demo", chat_type="private", language_code="en")
        await storage.set_language(DARIO, "es")  # chose Spanish over the app's English
        command = "/broadcast Rally at six.\n[ar]\nمسيرة في السادسة.\n[es]\nMarcha a las seis."
        await bot.command(command, user=ADMIN)
        preview = bot.texts(ADMIN)
        assert preview[:2] == ["👇 In English · recipients: 1", "Rally at six."]
        assert "👇 In Spanish · recipients: 2" in preview
        assert "Recipients now: <b>4</b>" in preview[-1]
        confirm_id = int(bot.last(ADMIN)["message_id"])
        await bot.press(bot.buttons(ADMIN)[texts.BUTTON_SEND], user=ADMIN, message_id=confirm_id)
        await bot.settle()
        assert bot.texts(ANA) == ["مسيرة في السادسة."]
        assert bot.texts(BEN) == bot.texts(DARIO) == ["Marcha a las seis."]
        assert bot.texts(CARLA) == ["Rally at six."]


async def test_a_broadcast_can_be_for_one_language(storage: Storage, folder: Path) -> None:
    """lang:ar sends only to Arabic readers, by choice or by app; a bad tag is refused."""
    async with serving(storage, folder) as bot:
        await storage.subscribe(ANA, "demo", chat_type="private", language_code="ar-eg")
        await storage.subscribe(BEN, "demo", chat_type="private", language_code="en")
        await storage.subscribe(CARLA, "demo", chat_type="private", language_code="en")
        await storage.set_language(CARLA, "ar")
        await bot.command("/broadcast lang:!! hello", user=ADMIN)
        assert bot.texts(ADMIN)[-1] == texts.BAD_LANGUAGE.format(language="!!")
        await bot.command("/broadcast lang:ar مرحبا", user=ADMIN)
        assert "will receive (only those reading Arabic)." in bot.texts(ADMIN)[-1]
        assert "Recipients now: <b>2</b>" in bot.texts(ADMIN)[-1]
        await _send(bot, "/broadcast lang:ar مرحبا")
        assert bot.texts(ANA) == bot.texts(CARLA) == ["مرحبا"]
        assert bot.texts(BEN) == []


async def test_announce_sends_each_reader_the_statement_in_their_language(
    storage: Storage, folder: Path
) -> None:
    """/announce renders the statement in every language it has, each reader getting theirs."""
    async with serving(storage, folder) as bot:
        await storage.subscribe(ANA, "demo", chat_type="private", language_code="ar")
        await storage.subscribe(BEN, "demo", chat_type="private", language_code="fr")
        await _send(bot, "/announce")
        [arabic] = bot.texts(ANA)
        [english] = bot.texts(BEN)
    assert arabic.startswith("<b>نقف معًا</b>")
    assert "متحدثة" in arabic
    assert "\n\nفلسطين حرة!\nCeasefire now!\n\n\u200f— <b>Jane Doe</b>" in arabic
    assert english.startswith("<b>We stand together</b>")
    assert "spokesperson" in english


async def test_reminders_come_in_the_readers_language(storage: Storage, folder: Path) -> None:
    """A pledge reminder is written in the language of the one who pledged."""
    content = load_campaigns(folder)
    campaign = content.default
    march = campaign.actions[0]
    start = starts_at(march, dt.UTC)
    assert start is not None
    async with serving(storage, folder) as bot:
        await storage.subscribe(ANA, "demo", chat_type="private", language_code="ar")
        await storage.subscribe(BEN, "demo", chat_type="private", language_code="es")
        for person in (ANA, BEN, CARLA, DARIO):  # Carla and Dario pledged, not subscribed
            await storage.pledge(person, "demo", campaign.action_key(march))
        await storage.set_language(DARIO, "es")
        reminders = Reminders(
            bot.application.bot,
            storage,
            lambda: content,
            lead=dt.timedelta(days=1),
            zone=dt.UTC,
            pacer=bot.application.bot_data["services"].pacer,
        )
        assert await reminders.run_once(start - dt.timedelta(hours=1)) == 4
        [arabic], [spanish], [english] = bot.texts(ANA), bot.texts(BEN), bot.texts(CARLA)
        assert bot.texts(DARIO) == [spanish]
    assert "مسيرة إلى السفارة" in arabic
    assert "9 مارس 2027" in arabic
    assert all(i18n.starts_rtl(line) for line in arabic.split("\n") if line)
    assert "Marcha a la embajada" in spanish
    assert english.startswith("⏰ Reminder")
    assert "March to the embassy" in english


async def test_broadcast_reports_speak_the_organizers_language(
    storage: Storage, folder: Path
) -> None:
    """An organizer who chose Spanish gets the preview and the final report in Spanish."""
    async with serving(storage, folder) as bot:
        await storage.subscribe(ANA, "demo", chat_type="private")
        await bot.press("lang:es", user=ADMIN)
        await bot.command("/broadcast Hello", user=ADMIN)
        confirm_id = int(bot.last(ADMIN)["message_id"])
        send = i18n.translate(texts.BUTTON_SEND, "es")
        await bot.press(bot.buttons(ADMIN)[send], user=ADMIN, message_id=confirm_id)
        await bot.settle()
        done = i18n.translate(texts.BROADCAST_DONE, "es").split("#")[0]
        await until(lambda: bot.texts(ADMIN)[-1].startswith(done), "the report in Spanish")
        assert bot.texts(ANA) == ["Hello"]


def test_dates_and_durations_are_written_in_the_interface_language() -> None:
    """Babel's data words dates and durations; English keeps the campaign's own style."""
    day = dt.date(2027, 3, 9)
    lead = dt.timedelta(days=1, hours=2)
    expected = {
        "en": ("9 March 2027", "March 2027", "1 day 2 hours", "3 min 20 s"),
        "es": ("9 de marzo de 2027", "marzo de 2027", "1 día y 2 horas", "3 min 20 s"),
        "ar": ("9 مارس 2027", "مارس 2027", "يوم وساعتان", "3 د 20 ث"),
    }
    for language, words in expected.items():
        with i18n.speaking(language):
            found = (
                i18n.format_day(day),
                i18n.format_day(day, precise=False),
                describe_lead(lead),
                duration(200),
            )
        assert found == words, language


async def test_inline_mode_offers_the_campaign_in_the_users_language(
    storage: Storage, folder: Path
) -> None:
    """@bot typed by an Arabic user offers the Arabic texts, and finds them by Arabic words."""
    async with serving(storage, folder) as bot:
        update = inline_query_update("حرة", user_id=ANA, language_code="ar")
        await bot.feed(update)
        answer = bot.api.inline_answers[update["inline_query"]["id"]]
    assert answer["is_personal"]  # cached by Telegram for this user only, in their language
    [slogan] = answer["results"]
    assert slogan["title"] == "✊ فلسطين حرة!"
    assert slogan["description"] == i18n.translate(texts.INLINE_SLOGAN, "ar").format(
        title="أوقفوا الحرب"
    )


async def test_choices_cost_no_query_and_other_processes_choices_arrive(
    storage: Storage, folder: Path
) -> None:
    """Answering reads no language from the database; another process's choice is re-read."""
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    async with serving(storage, folder) as bot:
        await storage.set_language(BEN, "ar")  # as another process would, behind our back
        event.listen(storage.engine.sync_engine, "before_cursor_execute", record)
        await bot.command("/statement", user=ANA)
        await bot.command("/slogans", user=BEN)
        event.remove(storage.engine.sync_engine, "before_cursor_execute", record)
        # Reads only: the retention's first look, at start, may delete expired choices in
        # this window when the machine is busy.
        reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        assert not any("preferences" in s for s in reads)
        assert bot.texts(BEN)[-1].startswith(i18n.translate(texts.SLOGANS_TITLE, "en"))
        await bot.application.bot_data["services"].languages.load()  # the periodic re-read
        await bot.command("/slogans", user=BEN)
        assert "فلسطين حرة!" in bot.texts(BEN)[-1]


async def test_a_broadcast_for_the_main_language_reaches_groups(
    storage: Storage, folder: Path
) -> None:
    """Groups have no language: lang:en on an English campaign reaches them, lang:ar not."""
    async with serving(storage, folder) as bot:
        await storage.subscribe(GROUP, "demo", chat_type="supergroup")
        await storage.subscribe(ANA, "demo", chat_type="private", language_code="ar")
        await bot.command("/broadcast lang:en Hello", user=ADMIN)
        assert "Recipients now: <b>1</b>" in bot.texts(ADMIN)[-1]
        await _send(bot, "/broadcast lang:en Hello")
        await _send(bot, "/broadcast lang:ar مرحبا")
        assert bot.texts(GROUP) == ["Hello"]
        assert bot.texts(ANA) == ["مرحبا"]


async def test_a_groups_language_follows_it_to_its_supergroup(
    storage: Storage, folder: Path
) -> None:
    """When a group becomes a supergroup, its chosen language moves to the new id."""
    new_id = -1009999
    async with serving(storage, folder) as bot:
        await storage.subscribe(GROUP, "demo", chat_type="group")
        bot.api.member_status[(GROUP, BEN)] = "administrator"
        await bot.press("lang:es", user=BEN, chat=GROUP)
        await bot.command("/x", user=BEN, chat=GROUP, chat_type="group")  # any message
        await bot.feed(
            {
                "message": {
                    "message_id": 99,
                    "date": 0,
                    "chat": {"id": GROUP, "type": "group", "title": "g"},
                    "migrate_to_chat_id": new_id,
                }
            }
        )
        assert await chosen(storage, new_id) == "es"
        assert await chosen(storage, GROUP) is None
        await bot.command("/slogans", user=ANA, chat=new_id, chat_type="supergroup")
        assert "¡Palestina libre!" in bot.texts(new_id)[-1]


def test_main_language_first_and_repeated_languages_joined() -> None:
    """Texts come out main language first, whatever the order written; none is dropped."""
    body = "[ar]\nمرحبا\n[en]\nHello\n[ar]\nأهلا"
    assert split_languages(body, "en") == {"en": "Hello", "ar": "مرحبا\n\nأهلا"}
    assert split_languages("Hi\n[es]\nHola", "en") == {"en": "Hi", "es": "Hola"}
    assert list(split_languages("[es]\nHola\n[ar]\nمرحبا", "en")) == ["es", "ar"]
    # Bold across a language line is closed in one text and opened again in the next.
    assert split_languages("<b>Rally\n[es]\nMarcha</b> hoy", "en") == {
        "en": "<b>Rally</b>",
        "es": "<b>Marcha</b> hoy",
    }


class SlowStorage(Storage):
    """The real storage, whose reading of every language choice waits for a signal."""

    go = asyncio.Event()

    async def chosen_languages(self) -> dict[int, str]:
        found = await super().chosen_languages()
        await self.go.wait()
        return found


async def test_a_choice_made_while_the_choices_are_reread_is_kept(tmp_path: Path) -> None:
    """A /language press landing during the periodic re-read is not undone by it."""
    storage = SlowStorage.connect(f"sqlite:///{tmp_path / 'bot.db'}")
    await storage.create_schema()
    try:
        choices = LanguageChoices(storage)
        await storage.set_language(BEN, "ar")
        loading = asyncio.create_task(choices.load())
        await asyncio.sleep(0.05)  # the read is done and waits
        await choices.choose(ANA, "es")
        await choices.choose(BEN, None)
        storage.go.set()
        await loading
        assert (choices.of(ANA), choices.of(BEN)) == ("es", None)
    finally:
        await storage.engine.dispose()


async def test_stats_count_subscribers_by_language(storage: Storage, folder: Path) -> None:
    """/stats says how many read each language (chosen, else the app's), most read first."""
    async with serving(storage, folder) as bot:
        await storage.subscribe(ANA, "demo", chat_type="private", language_code="ar")
        await storage.subscribe(BEN, "demo", chat_type="private", language_code="es-mx")
        await storage.subscribe(CARLA, "demo", chat_type="private", language_code="en")
        await storage.set_language(CARLA, "es")
        await storage.subscribe(GROUP, "demo", chat_type="supergroup")
        await bot.command("/stats", user=ADMIN)
        stats = next(t for t in bot.texts(ADMIN) if texts.STATS_LANGUAGES in t)
    assert "demo: Spanish 2 · Arabic 1 · not known 1" in stats


async def test_the_slow_down_warning_speaks_the_chosen_language(
    storage: Storage, folder: Path
) -> None:
    """Even a flood, stopped before anything else runs, is told off in the chosen language."""
    async with serving(storage, folder, flood_guard=FloodGuard(burst=2, per_second=0.01)) as bot:
        await bot.press("lang:es", user=ANA)
        await bot.command("/slogans", user=ANA)
        await bot.command("/slogans", user=ANA)
        assert bot.texts(ANA)[-1] == i18n.translate(texts.SLOW_DOWN, "es")
