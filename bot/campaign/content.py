"""Campaign content: the schema organizers write in YAML, and loading a folder of it."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import ErrorDetails

from bot import i18n
from bot.campaign.media import Kind, Media, folder_of, locate
from bot.campaign.statement_files import statement_files
from bot.campaign.yamlsafe import Located, Position, YamlError, YamlProblem, read_yaml

# Telegram deep-link payloads allow 64 characters of A-Za-z0-9_- (Bot API, "Deep linking").
CAMPAIGN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Topic ids go in button data and in the /broadcast topic:NAME option.
TOPIC_ID = re.compile(r"^[a-z0-9_-]{1,32}$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _check_id(value: str) -> str:
    if not CAMPAIGN_ID.match(value):
        raise ValueError("an id is 1-64 letters, digits, '-' or '_' (it goes in a t.me link)")
    return value


def _check_url(value: str) -> str:
    if not _URL.match(value):
        raise ValueError("a link must start with http:// or https://")
    return value


def _time(text: str) -> dt.time:
    # 9:30 is as clear as 09:30; Python's ISO parser wants the zero.
    return dt.time.fromisoformat(f"0{text}" if re.fullmatch(r"\d:\d\d", text) else text)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _iso(parse: Callable[[str], Any], what: str) -> Callable[[Any], Any]:
    """Return a validator reading text as written (YYYY-MM-DD, HH:MM) into a date or time."""

    def convert(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return parse(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not {what}") from None

    return convert


def _one_line(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError("a closing line is one line; write each line as an item of its own")
    return value


Body = Annotated[str, AfterValidator(_not_blank)]
Line = Annotated[Text, AfterValidator(_one_line)]
CampaignId = Annotated[str, AfterValidator(_check_id)]
Url = Annotated[str, AfterValidator(_check_url)]
Day = Annotated[
    dt.date, BeforeValidator(_iso(dt.date.fromisoformat, "a date; write it as YYYY-MM-DD"))
]
TimeOfDay = Annotated[dt.time, BeforeValidator(_iso(_time, "a time; write it as HH:MM (24-hour)"))]


@dataclass(frozen=True, order=True)
class PublishedOn:
    """A statement's date, to the day or, when only that is known, to the month."""

    day: dt.date
    precise: bool = True

    def __str__(self) -> str:
        if self.precise:
            return f"{self.day.day} {self.day:%B %Y}"
        return f"{self.day:%B %Y}"


def _parse_published(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}", text):
        try:
            return PublishedOn(dt.date.fromisoformat(text + "-01"), precise=False)
        except ValueError:
            pass
    else:
        try:
            return PublishedOn(dt.date.fromisoformat(text))
        except ValueError:
            pass
    raise ValueError(
        f"{value!r} is not a date; write YYYY-MM-DD, or YYYY-MM if the day is unknown"
    )


Published = Annotated[PublishedOn, BeforeValidator(_parse_published)]


def _channel(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-100\d{5,16}", text):
            return int(text)
        # A public channel's @username: Telegram's are 5-32 letters, digits and underscores.
        if re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{4,31}", text):
            return text
    raise ValueError(
        f"{value!r} is not a channel: write its @username, or its numeric id, which starts "
        "with -100 (forward a post from the channel to @userinfobot to see it)"
    )


Channel = Annotated[int | str, BeforeValidator(_channel)]


def _check_language(value: str) -> str:
    if i18n.normalize(value) != value:
        raise ValueError(f"{value!r} is not a language tag; write it like en, ar, es or pt-br")
    return value


def _check_topic(value: str) -> str:
    if not TOPIC_ID.match(value):
        raise ValueError("a topic id is 1-32 lower-case letters, digits, '-' or '_'")
    return value


Language = Annotated[str, AfterValidator(_check_language)]
TopicId = Annotated[str, AfterValidator(_check_topic)]


def _media(kind: Kind) -> Callable[[Any, ValidationInfo], Media]:
    """Return a validator reading a file's path or https link into a checked Media."""

    def convert(value: Any, info: ValidationInfo) -> Media:
        if isinstance(value, Media):
            return value
        if not isinstance(value, str):
            raise ValueError("expected text here: a file's path or an https:// link")
        folder = (info.context or {}).get("folder")
        if folder is None:  # a statement read on its own (a feed's draft) names no files
            raise ValueError("files are named in a campaign's own files only")
        return locate(value, kind, folder)

    return convert


Picture = Annotated[Media, PlainValidator(_media("photo"))]
Document = Annotated[Media, PlainValidator(_media("document"))]


class _Model(BaseModel):
    # Strict: a list where text belongs is an error, not silently str()-ed. Unknown keys are
    # errors so that a misspelt `sloagns:` is reported instead of ignored.
    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, arbitrary_types_allowed=True
    )


class Attachment(_Model):
    """A file sent with a statement (the statement as a PDF, say), with an optional title."""

    file: Document
    title: Text | None = None  # the file's caption

    @model_validator(mode="before")
    @classmethod
    def _path_alone(cls, value: Any) -> Any:
        # `- statement.pdf` is short for `- file: statement.pdf`.
        return {"file": value} if isinstance(value, str) else value


class Statement(_Model):
    """A dated statement with its signatory and body text."""

    title: Text
    date: Published
    organization: Text | None = None
    author: Text
    role: Text | None = None
    source: Url | None = None
    body: Body
    # Lines that close the statement before its signature, as the original has them (ILPS's
    # statements end with their slogans): shown one to a line, after the body.
    closing: list[Line] = []
    # A picture sent before the statement, and files sent after it (campaign/media.py).
    image: Picture | None = None
    attachments: list[Attachment] = []


class Action(_Model):
    """Something a reader can do, optionally at a time and place."""

    title: Text
    description: Text
    link: Url | None = None
    date: Day | None = None
    time: TimeOfDay | None = None
    place: Text | None = None
    image: Picture | None = None  # the action's poster


class Topic(_Model):
    """A kind of update subscribers can choose to get, or not."""

    id: TopicId
    title: Text


class Campaign(_Model):
    """One campaign: who runs it, what it says, what it asks people to do."""

    id: CampaignId
    # The language its texts are written in; `text: {ar: …, es: …}` maps add others.
    language: Language = "en"
    title: Text
    organization: Text
    summary: Text | None = None
    statements: Annotated[list[Statement], Field(min_length=1)]
    slogans: list[Text] = []
    actions: list[Action] = []
    # Telegram channels the bot is an admin of: broadcasts and announcements go there too.
    channels: list[Channel] = []
    # At most 20: each is a button, and a subscriber's choice is kept in 1,000 characters.
    topics: Annotated[list[Topic], Field(max_length=20)] = []
    # The organization's RSS or Atom feed (or a page linking to it): new posts become drafts.
    feed: Url | None = None

    # The same campaign in each of its other languages, all sharing this one's ids and keys.
    _variants: dict[str, Campaign] = PrivateAttr(default_factory=dict)
    _base: Campaign | None = PrivateAttr(default=None)

    @property
    def languages(self) -> tuple[str, ...]:
        """Return the languages this campaign is written in, its own language first."""
        base = self.base
        return (base.language, *sorted(base._variants))

    @property
    def base(self) -> Campaign:
        """Return the campaign in the language it is written in."""
        return self._base or self

    def in_language(self, code: str | None) -> Campaign:
        """Return this campaign in a reader's language when it has it, else in its own."""
        base = self.base
        chosen = i18n.match(code, tuple(base._variants))
        return base._variants[chosen] if chosen else base

    def localized(self) -> Campaign:
        """Return this campaign in the language asked for in the current update."""
        return self.in_language(i18n.requested())

    def action_key(self, action: Action) -> str:
        """Return an action's pledge key, the same in every language."""
        index = next(i for i, item in enumerate(self.actions) if item is action)
        return action_key(self.id, self.base.actions[index])

    def topic(self, topic_id: str) -> Topic | None:
        """Return the topic with this id, or None."""
        return next((t for t in self.topics if t.id == topic_id), None)

    @property
    def key(self) -> str:
        """Return a short stable key for this campaign, for 64-byte callback data."""
        return campaign_key(self.id)

    @property
    def statement(self) -> Statement:
        """Return the latest statement by date (the last listed wins a tie)."""
        return max(reversed(self.statements), key=lambda s: s.date)

    @property
    def archive(self) -> list[Statement]:
        """Return all statements, newest first."""
        return sorted(self.statements, key=lambda s: s.date, reverse=True)


@dataclass(frozen=True)
class Content:
    """All campaigns being served, in file-name order."""

    campaigns: tuple[Campaign, ...]
    files: tuple[Path, ...] = ()

    def __iter__(self) -> Iterator[Campaign]:
        return (c.localized() for c in self.campaigns)

    def __len__(self) -> int:
        return len(self.campaigns)

    def get(self, campaign_id: str | None) -> Campaign | None:
        """Return the campaign with this id, or None."""
        found = next((c for c in self.campaigns if c.id == campaign_id), None)
        return found.localized() if found else None

    def by_key(self, key: str) -> Campaign | None:
        """Return the campaign with this callback key, or None."""
        found = next((c for c in self.campaigns if c.key == key), None)
        return found.localized() if found else None

    @property
    def default(self) -> Campaign:
        """Return the campaign served when none was chosen."""
        return self.campaigns[0].localized()


def action_key(campaign_id: str, action: Action) -> str:
    """Return the short key of an action: its pledges follow it while its title stays."""
    return hashlib.sha256(f"{campaign_id}\0{action.title}".encode()).hexdigest()[:10]


def campaign_key(campaign_id: str) -> str:
    """Return the short key standing for a campaign id in button data."""
    # Button data is capped at 64 bytes and an id may be 64 characters: a hash fits any id.
    return hashlib.sha256(campaign_id.encode()).hexdigest()[:10]


class ContentError(Exception):
    """Campaign files that cannot be served, with every problem located."""

    def __init__(self, problems: list[YamlProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _describe(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"])
    kind = error["type"]
    if kind == "missing":
        return f"missing required key {error['loc'][-1]!r}"
    if kind == "extra_forbidden":
        return f"unknown key {error['loc'][-1]!r}"
    if kind in ("string_type", "str_type"):
        return f"{where}: expected text here"
    if kind == "list_type":
        return f"{where}: expected a list (lines starting with '- ')"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"{where}: expected keys and values (key: value lines)"
    if kind == "string_too_short":
        return f"{where}: must not be empty"
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}"


# The texts that may be a map of language -> text instead of one text.
_TEXT_KEYS = ("title", "organization", "summary")
_ITEM_TEXT_KEYS = {
    "statements": ("title", "organization", "author", "role", "source", "body"),
    "actions": ("title", "description", "link", "place"),
    "topics": ("title",),
}
Where = tuple[str | int, ...]


def _text_paths(data: dict[str, Any]) -> Iterator[Where]:
    """Yield where each translatable text of a campaign document is."""
    yield from ((key,) for key in _TEXT_KEYS if key in data)
    slogans = data.get("slogans")
    if isinstance(slogans, list):
        yield from (("slogans", index) for index in range(len(slogans)))
    for list_key, keys in _ITEM_TEXT_KEYS.items():
        items = data.get(list_key)
        if isinstance(items, list):
            for index, item in enumerate(items):
                if isinstance(item, dict):
                    yield from ((list_key, index, key) for key in keys if key in item)
    statements = data.get("statements")
    if isinstance(statements, list):
        for index, item in enumerate(statements):
            # A statement's closing lines translate one by one, like the slogans.
            lines = item.get("closing") if isinstance(item, dict) else None
            if isinstance(lines, list):
                yield from (("statements", index, "closing", n) for n in range(len(lines)))


def _at(data: Any, where: Where) -> Any:
    for part in where:
        data = data[part]
    return data


def _translations(
    located: Located, path: Path, default: str
) -> tuple[dict[Where, dict[Any, Any]], list[YamlProblem]]:
    """Find every translated text (a map of language -> text), and what is wrong with each."""
    maps: dict[Where, dict[Any, Any]] = {}
    problems: list[YamlProblem] = []
    for where in _text_paths(located.data):
        texts = _at(located.data, where)
        if not isinstance(texts, dict):
            continue
        maps[where] = texts
        dotted = ".".join(str(part) for part in where)
        for language, text in texts.items():
            loc = (*where, language)
            if not isinstance(language, str) or i18n.normalize(language) != language:
                message = f"{language!r} is not a language tag; write it like en, ar, es or pt-br"
                position = located.key_positions.get(loc) or located.position_of(loc)
                problems.append(YamlProblem(path, position, f"{dotted}: {message}", loc))
            elif not isinstance(text, str):
                problems.append(
                    YamlProblem(
                        path,
                        located.position_of(loc),
                        f"{dotted}.{language}: expected text here",
                        loc,
                    )
                )
            elif not text.strip():
                problems.append(
                    YamlProblem(
                        path,
                        located.position_of(loc),
                        f"{dotted}.{language}: must not be empty",
                        loc,
                    )
                )
        if default not in texts:
            message = f"{dotted}: has no {default!r} text (the campaign's `language:`)"
            problems.append(YamlProblem(path, located.position_of(where), message, where))
    return maps, problems


def _in_language(
    data: dict[str, Any], maps: dict[Where, dict[Any, Any]], language: str, default: str
) -> dict[str, Any]:
    """Return the campaign document with each translated text in one language."""
    tree = copy.deepcopy(data)
    for where, texts in maps.items():
        _at(tree, where[:-1])[where[-1]] = texts.get(language, texts.get(default))
    return tree


def _model_problems(error: ValidationError, located: Located, path: Path) -> list[YamlProblem]:
    problems = []
    for detail in error.errors(include_url=False):
        loc = tuple(detail["loc"])
        # A missing key has no position of its own: point at the map that lacks it.
        if detail["type"] == "missing":
            position = located.position_of(loc[:-1])
        elif detail["type"] == "extra_forbidden":
            position = located.key_positions.get(loc) or located.position_of(loc)
        else:
            position = located.position_of(loc)
        problems.append(YamlProblem(path, position, _describe(detail), loc))
    return problems


def _validate(located: Located, path: Path) -> Campaign:
    problems = list(located.problems)
    data = located.data
    default = data.get("language")
    default = default if isinstance(default, str) else "en"
    maps, map_problems = _translations(located, path, default)
    problems.extend(map_problems)
    languages = sorted({lang for texts in maps.values() for lang in texts} - {default})
    versions: dict[str, Campaign] = {}
    for language in [default, *languages]:
        try:
            versions[language] = Campaign.model_validate(
                _in_language(data, maps, language, default) if maps else data,
                context={"folder": folder_of(path)},
            )
        except ValidationError as error:
            reported = {(p.position, p.message) for p in problems}
            found = {p.position for p in problems}
            for problem in _model_problems(error, located, path):
                # A refused value reads as missing, and each language repeats the problems
                # of the texts they share: say each once.
                if (
                    problem.position not in found
                    and (problem.position, problem.message) not in reported
                ):
                    problems.append(problem)
                    reported.add((problem.position, problem.message))
            if language == default:
                break
    if problems:
        problems.sort(key=lambda p: (p.position.line, p.position.column))
        raise ContentError(problems)
    campaign = versions.pop(default)
    for version in versions.values():
        version._base = campaign
    campaign._variants.update(versions)
    return campaign


def load_campaign(path: Path) -> Campaign:
    """Load and validate one campaign file, or raise ContentError with located problems."""
    try:
        located = read_yaml(path)
    except YamlError as error:
        raise ContentError(error.problems) from None
    if not isinstance(located.data, dict):
        raise ContentError([YamlProblem(path, Position(1, 1), "expected keys and values")])
    documents, problems = _statement_documents(path)
    listed = located.data.setdefault("statements", []) if documents else None
    if isinstance(listed, list):
        listed.extend(documents)
    try:
        campaign = _validate(located, path)
    except ContentError as error:
        raise ContentError([*error.problems, *problems]) from None
    if problems:
        raise ContentError(problems)
    return campaign


def _statement_documents(campaign_file: Path) -> tuple[list[Any], list[YamlProblem]]:
    """Read and check the campaign's statement files; return the good ones and the problems."""
    documents: list[Any] = []
    problems: list[YamlProblem] = []
    for path in statement_files(campaign_file):
        try:
            located = read_yaml(path)
        except YamlError as error:
            problems.extend(error.problems)
            continue
        if not isinstance(located.data, dict):
            message = "expected one statement's keys (title:, date:, author:, body:)"
            problems.append(YamlProblem(path, Position(1, 1), message))
            continue
        try:
            Statement.model_validate(located.data, context={"folder": folder_of(campaign_file)})
        except ValidationError as error:
            problems.extend(_model_problems(error, located, path))
            continue
        documents.append(located.data)
    return documents, problems


def campaign_files(directory: Path) -> list[Path]:
    """Return the campaign files of a folder, in name order."""
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def load_campaigns(directory: Path) -> Content:
    """Load every campaign file in a folder, or raise ContentError listing every problem."""
    if not directory.is_dir():
        message = f"no such folder (looked for {directory.resolve()}; set CAMPAIGNS_DIR)"
        raise ContentError([YamlProblem(directory, Position(1, 1), message)])
    files = campaign_files(directory)
    if not files:
        where = YamlProblem(directory, Position(1, 1), "no campaign files (*.yaml) here")
        raise ContentError([where])
    problems: list[YamlProblem] = []
    campaigns: list[Campaign] = []
    loaded: list[Path] = []
    first_file: dict[str, Path] = {}
    for path in files:
        try:
            campaign = load_campaign(path)
        except ContentError as error:
            problems.extend(error.problems)
            continue
        if campaign.id in first_file:
            message = f"campaign id {campaign.id!r} is already used by {first_file[campaign.id]}"
            problems.append(YamlProblem(path, Position(1, 1), message))
            continue
        first_file[campaign.id] = path
        campaigns.append(campaign)
        loaded.append(path)
    if problems:
        raise ContentError(problems)
    return Content(tuple(campaigns), tuple(loaded))
