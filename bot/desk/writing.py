"""Writing the campaign from the desk (issue 22): its file read to change, previewed as
subscribers will get it and saved through bot/organizing/writing.py; the published versions
listed, what each changed, and one restored. The page's side is static/writer.js."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from bot import i18n, texts
from bot.campaign import render
from bot.campaign.content import Campaign, Content, ContentError, Statement
from bot.campaign.markup import escape
from bot.campaign.yamlsafe import Position, YamlError, YamlProblem, parse_yaml
from bot.desk.calls import APPLICATION, acting, as_json, bad_request, form, refused, services
from bot.i18n import gettext as _
from bot.organizing import history, writing
from bot.organizing.asking import Refused
from bot.organizing.campaigns import problem_list

# The keys of a campaign file the desk changes; anything else is the file's, by hand.
EDITABLE = ("title", "organization", "summary", "statements", "slogans", "actions")
# A statement file's keys (a draft added from the feed is one).
STATEMENT_KEYS = tuple(Statement.model_fields)
VERSIONS_LISTED = 20


def add_routes(api: web.Application) -> None:
    """Put the campaign writing calls under the desk's API."""
    campaign = r"/campaigns/{id:[a-z0-9_-]{1,64}}"
    api.router.add_get(campaign + "/file", _open)
    api.router.add_post(campaign + "/file", _save)
    api.router.add_post(campaign + "/preview", _preview)
    api.router.add_get("/versions", _versions)
    api.router.add_get(r"/versions/{id:\d{1,12}}/changes", _changes)
    api.router.add_post(r"/versions/{id:\d{1,12}}/restore", _restore)


async def _open(request: web.Request) -> web.Response:
    """Return a campaign's file as it is now and the values of the keys the desk changes;
    and the same of each of its statement files (`files`)."""
    found = services(request)
    try:
        opened, *files = writing.open_campaign(found.content, request.match_info["id"])
    except Refused as refusing:
        return refused(refusing)
    campaign = found.content.get(opened.campaign_id)
    assert campaign is not None  # open_campaign found it
    # The languages it is written in, its main one first, then the bot's own: each text is
    # edited in all of them, side by side (a translation may be added to any one text).
    codes = [campaign.base.language, *campaign.languages, *i18n.interface_languages()]
    languages = [
        {
            "code": code,
            "name": i18n.spoken_name(code),
            "rtl": i18n.is_rtl(code),
            "written": code in campaign.languages,  # shown; the others a tick away
        }
        for code in dict.fromkeys(codes)
    ]
    try:
        shown = _file(opened, EDITABLE)
        shown["files"] = [_file(file, STATEMENT_KEYS) for file in files]
    except YamlError as error:  # changed on disk since it was served, and broken
        problems = problem_list(ContentError(error.problems))
        return refused(Refused(_(texts.RELOAD_FAILED).format(problems=problems), alert=False))
    return as_json({**shown, "languages": languages})


def _file(opened: writing.Opened, keys: tuple[str, ...]) -> dict[str, Any]:
    """Return a file as opened and the values of its keys the desk shows (those it has)."""
    # Every value as written (a time stays 18:30, a date 2024-03), as the campaign loads it.
    values = parse_yaml(opened.text, Path(opened.file_name)).data
    if not isinstance(values, dict):
        raise YamlError([YamlProblem(Path(opened.file_name), Position(1, 1), "expected keys")])
    return {"opened": opened, "fields": {key: values[key] for key in keys if key in values}}


async def _save(request: web.Request) -> web.Response:
    """Save changed keys into the files the desk opened (each `opened` as the open call gave
    it): the campaign's file, and any of its statement files (`files`)."""
    found = services(request)
    edits = _asked(request, await form(request))
    if isinstance(edits, web.Response):
        return edits
    return await _served(
        request,
        writing.save_campaign(
            found.storage,
            request.app[APPLICATION].bot,
            found.config,
            found.content,
            found.follower,
            acting(request),
            edits,
        ),
    )


async def _preview(request: web.Request) -> web.Response:
    """Return the messages subscribers would get with the changes saved, in one language:
    `show` is {"what": statement|slogans|actions|welcome, "index": n, "language": code}."""
    body = await form(request)
    edits = _asked(request, body)
    if isinstance(edits, web.Response):
        return edits
    show = body.get("show")
    if not isinstance(show, dict) or show.get("what") not in _SHOWN:
        return bad_request(f"show.what is one of {', '.join(_SHOWN)}")
    try:
        content = await writing.preview(services(request).content, edits)
    except Refused as refusing:
        return _refused(refusing)
    campaign = content.get(request.match_info["id"])
    if campaign is None:  # the file now names another campaign id
        return bad_request("the file no longer holds this campaign")
    with i18n.speaking(str(show.get("language") or "")):
        campaign = campaign.in_language(i18n.requested())
        parts = _SHOWN[show["what"]](campaign, show.get("index"))
    return as_json({"parts": parts})


def _statement_parts(campaign: Campaign, index: Any) -> list[Any]:
    statements = campaign.statements
    item = statements[index] if isinstance(index, int) and 0 <= index < len(statements) else None
    if item is None:
        return []
    # The picture goes first, as /statement sends it (its file is not sent to the page).
    picture = [{"type": "photo", "name": item.image.name}] if item.image else []
    return [*picture, *render.statement(campaign, item)]


_SHOWN: dict[str, Callable[[Campaign, Any], list[Any]]] = {
    "statement": _statement_parts,
    "slogans": lambda campaign, _index: [render.slogans(campaign)],
    "actions": lambda campaign, _index: render.actions(campaign),
    "welcome": lambda campaign, _index: [render.welcome(campaign)],
}


def _asked(request: web.Request, body: dict[str, Any]) -> list[writing.Edit] | web.Response:
    """Return the files a save or preview was opened as and their changes, or a 400."""
    asked: list[tuple[dict[str, Any], tuple[str, ...]]] = [(body, EDITABLE)]
    files = body.get("files", [])
    if not isinstance(files, list) or not all(isinstance(file, dict) for file in files):
        return bad_request("files is a list of {opened, changes} objects")
    asked.extend((file, STATEMENT_KEYS) for file in files)
    edits: list[writing.Edit] = []
    for given, keys in asked:
        opened, changes = given.get("opened"), given.get("changes")
        if not isinstance(opened, dict) or not isinstance(changes, dict):
            return bad_request("opened and changes are JSON objects")
        unknown = sorted(set(changes) - set(keys))
        if unknown:
            return bad_request(f"not changed from the desk: {', '.join(unknown)}")
        name, text = str(opened.get("file_name", "")), str(opened.get("text", ""))
        edits.append((writing.Opened(request.match_info["id"], name, text), changes))
    return edits


async def _versions(request: web.Request) -> web.Response:
    """Return the newest published versions: who published each, when, how big."""
    found = services(request)
    return as_json({"versions": await found.storage.versions(VERSIONS_LISTED)})


async def _changes(request: web.Request) -> web.Response:
    """Return what a published version changed from the one before it (a unified diff)."""
    try:
        diff = await history.version_changes(
            services(request).storage, int(request.match_info["id"])
        )
    except Refused as refusing:
        return refused(refusing)
    return as_json({"changes": diff})


async def _restore(request: web.Request) -> web.Response:
    """Put the campaign files back as a published version had them, for every process."""
    found = services(request)
    return await _served(
        request,
        writing.restore(
            found.storage,
            request.app[APPLICATION].bot,
            found.config,
            found.follower,
            acting(request),
            int(request.match_info["id"]),
        ),
    )


async def _served(request: web.Request, change: Awaitable[Content]) -> web.Response:
    """Serve the content a change returns and say so, or answer its refusal."""
    found = services(request)
    try:
        found.content = await change
    except Refused as refusing:
        return _refused(refusing)
    summary = escape(render.summary(found.content))
    return as_json({"message": _(texts.RELOADED).format(summary=summary)})


def _refused(refusing: Refused) -> web.Response:
    """Answer a refusal; a change's problems also each at its field (its dotted key path)."""
    if not isinstance(refusing, writing.NotSaved):
        return refused(refusing)
    problems = [{"field": field, "message": text} for field, text in refusing.at_fields()]
    answer = {"error": "refused", "message": refusing.text, "problems": problems}
    return web.json_response(answer, status=409)
