"""Deep links: `t.me/<bot>?start=<campaign-id>[-<source>]`, what they mean, and their QR codes.

Telegram passes the part after `start=` to the bot as the argument of /start: at most 64 of
A-Z a-z 0-9 _ -. A link names a campaign and, optionally, where it was handed out (a flyer, a
partner's channel): the sign-ups that follow record that source, and /stats counts them.
"""

from __future__ import annotations

import io
import re

import qrcode
from qrcode.image.pure import PyPNGImage

from bot.campaign.content import Campaign, Content

PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
SOURCE = re.compile(r"[A-Za-z0-9_-]{1,63}")


def parse_payload(payload: str, content: Content) -> tuple[Campaign, str] | None:
    """Return the campaign a /start payload opens and the source to record, or None.

    `rafah` opens rafah (the source is the campaign's own link: `rafah`); `rafah-flyer` opens
    rafah from `flyer`. The longest campaign id that fits wins, so a campaign may have a dash.
    """
    if not PAYLOAD.fullmatch(payload):
        return None
    campaign = content.get(payload)
    if campaign is not None:
        return campaign, payload
    for candidate in sorted(content, key=lambda c: len(c.id), reverse=True):
        prefix = f"{candidate.id}-"
        if payload.startswith(prefix) and len(payload) > len(prefix):
            return candidate, payload[len(prefix) :]
    return None


def start_link(bot_username: str, campaign_id: str, source: str | None = None) -> str:
    """Return the link that opens the campaign (and records the source); ValueError if too long."""
    payload = campaign_id if source is None else f"{campaign_id}-{source}"
    if not PAYLOAD.fullmatch(payload):
        raise ValueError(f"{payload!r} is not a link payload: at most 64 of A-Z a-z 0-9 _ -")
    return f"https://t.me/{bot_username}?start={payload}"


def qr_png(data: str) -> bytes:
    """Return a QR code of `data` as a PNG image, large enough to print on a flyer."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(data)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(image_factory=PyPNGImage).save(buffer)
    return buffer.getvalue()
