"""The campaign's history in the desk (issue 22): what each published version changed."""

from __future__ import annotations

import asyncio

from bot import texts
from bot.campaign.published import diff_versions
from bot.i18n import gettext as _
from bot.organizing.asking import Refused
from bot.storage import Storage


async def version_changes(storage: Storage, version_id: int) -> str:
    """Return what a version changed from the one published before it, as a plain-text
    unified diff (a picture one line); Refused if the version's files are no longer kept."""
    found = await storage.version_with_previous(version_id)
    if found.data is None:
        raise Refused(_(texts.RESTORE_GONE).format(id=version_id), alert=False)
    if found.previous_id is not None and found.previous_data is None:
        return _(texts.HISTORY_BEFORE_GONE).format(id=found.previous_id)
    # Unzipping and comparing up to 64 MB twice: off the event loop.
    return await asyncio.to_thread(diff_versions, found.previous_data, found.data)
