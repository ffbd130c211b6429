"""A picture chosen on the organizer's phone, uploaded from the desk (issue 22) and kept in the
campaign's folder by bot/organizing/pictures.py, for the campaign file to name."""

from __future__ import annotations

import json
from urllib.parse import unquote

from aiohttp import BodyPartReader, web

from bot.desk.calls import acting, as_json, bad_request, refused, services
from bot.organizing import pictures
from bot.organizing.asking import Refused


def add_routes(api: web.Application) -> None:
    """Put the picture upload under the desk's API."""
    api.router.add_post(r"/campaigns/{id:[a-z0-9_-]{1,64}}/pictures", _keep)


async def _keep(request: web.Request) -> web.Response:
    """Keep the picture of a multipart/form-data call (its file part named "picture");
    answer its path as the campaign file names it, `{"path": "pictures/poster.jpg"}`."""
    found = services(request)
    if request.content_type != "multipart/form-data":
        return bad_request("the picture comes as multipart/form-data")
    # Read as it arrives, a chunk at a time: the API's client_max_size (1 MB) limits only
    # bodies read whole, and a picture may be 10 MB (tests/test_desk_pictures.py).
    try:
        part = await (await request.multipart()).next()
    except ValueError as error:  # no boundary, or not multipart after all
        return bad_request(f"the multipart body cannot be read: {error}")
    if not isinstance(part, BodyPartReader) or part.name != "picture" or part.filename is None:
        return bad_request('the first part is the file, named "picture"')

    async def read(size: int) -> bytes:
        try:
            return await part.read_chunk(size)
        except ValueError as error:  # the body ends before its boundary
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "bad_request", "reason": str(error)}),
                content_type="application/json",
                headers={"Cache-Control": "no-store"},
            ) from error

    # Browsers write a file's name as UTF-8 with " as %22 (HTML, multipart/form-data
    # encoding); other clients %-encode it all (RFC 7578, 4.2): read back, they agree.
    file_name = unquote(part.filename)
    try:
        path = await pictures.keep_picture(
            found.storage,
            found.content,
            acting(request),
            request.match_info["id"],
            file_name,
            read,
        )
    except Refused as refusing:
        return refused(refusing)
    return as_json({"path": path})
