"""The body-text markup organizers write, rendered to Telegram HTML and cut into messages."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

# Telegram rejects messages over 4096 characters (Bot API, sendMessage). We measure the HTML we
# send, tags included, in UTF-16 code units as Telegram does: a safe upper bound.
MESSAGE_LIMIT = 4096

_INLINE = re.compile(
    r"(?<![\w*])\*\*(?P<bold>[^*\s](?:.*?[^*\s])?)\*\*(?![\w*])"
    r"|(?<![\w*])\*(?P<italic>[^*\s](?:.*?[^*\s])?)\*(?![\w*])"
    r"|\[(?P<label>[^\]\n]+)\]\((?P<url>(?:https?://|tg://|mailto:)[^)\s]+)\)"
)
_HEADING = re.compile(r"^#{1,3}\s+(?P<text>.+)$")
_BULLET = re.compile(r"^[-*]\s+(?P<text>.+)$")


def telegram_length(text: str) -> int:
    """Return the length of text as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """Escape plain text for Telegram HTML."""
    return html.escape(text, quote=False)


def render_inline(text: str) -> str:
    """Render one line's **bold**, *italic* and [links](https://...), escaping the rest."""
    out: list[str] = []
    end = 0
    for match in _INLINE.finditer(text):
        out.append(escape(text[end : match.start()]))
        if match["bold"] is not None:
            out.append(f"<b>{render_inline(match['bold'])}</b>")
        elif match["italic"] is not None:
            out.append(f"<i>{render_inline(match['italic'])}</i>")
        else:
            href = html.escape(match["url"], quote=True)
            out.append(f'<a href="{href}">{escape(match["label"])}</a>')
        end = match.end()
    out.append(escape(text[end:]))
    return "".join(out)


def _render_line(line: str) -> str:
    heading = _HEADING.match(line)
    if heading:
        return f"<b>{render_inline(heading['text'].strip())}</b>"
    bullet = _BULLET.match(line)
    if bullet:
        return "• " + render_inline(bullet["text"])
    return render_inline(line)


def paragraphs(text: str) -> list[str]:
    """Split source text into paragraphs at blank lines, trimming each."""
    blocks = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").strip())
    return [block.strip() for block in blocks if block.strip()]


def _render_paragraph(source: str) -> str:
    return "\n".join(_render_line(line.strip()) for line in source.split("\n"))


def _cut_source(source: str, limit: int) -> list[str]:
    """Cut one over-long source paragraph at sentence, then word, boundaries."""
    pieces = re.split(r"(?<=[.!?…])\s+", source)
    if len(pieces) == 1:
        pieces = source.split()
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for piece in pieces:
        # Summing pieces rendered one by one keeps this linear; a span of markup that crosses
        # a cut renders as plain text, which is the price of an over-long paragraph.
        length = telegram_length(_render_paragraph(piece)) + 1
        if current and size + length > limit:
            chunks.append(" ".join(current))
            current, size = [], 0
        current.append(piece)
        size += length
    if current:
        chunks.append(" ".join(current))
    # A single word longer than the limit (a pasted blob) is cut by characters as a last resort.
    result: list[str] = []
    for chunk in chunks:
        while telegram_length(_render_paragraph(chunk)) > limit:
            result.append(chunk[: limit // 2])
            chunk = chunk[limit // 2 :]
        result.append(chunk)
    return result


def render_blocks(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Render markup to HTML blocks, one per paragraph, none longer than `limit`."""
    blocks: list[str] = []
    for source in paragraphs(text):
        rendered = _render_paragraph(source)
        if telegram_length(rendered) <= limit:
            blocks.append(rendered)
        else:
            blocks.extend(_render_paragraph(chunk) for chunk in _cut_source(source, limit))
    return blocks


def render_lines(lines: Iterable[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Render lines' inline markup to HTML blocks of lines, one to a line, none over `limit`."""
    pieces: list[str] = []
    for line in lines:
        # A line is not a paragraph (no heading, no bullet); only a line over the limit, which
        # nobody writes as a closing line, is cut, between sentences.
        fits = telegram_length(render_inline(line)) <= limit
        pieces.extend(
            render_inline(piece) for piece in ([line] if fits else _cut_source(line, limit))
        )
    return pack_messages(pieces, limit, separator="\n")


def pack_messages(
    blocks: Iterable[str], limit: int = MESSAGE_LIMIT, separator: str = "\n\n"
) -> list[str]:
    """Pack HTML blocks, in order, into as few messages of at most `limit` as they fit, with
    `separator` between blocks (a blank line between paragraphs)."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        candidate = f"{current}{separator}{block}" if current else block
        if current and telegram_length(candidate) > limit:
            messages.append(current)
            current = block
        else:
            current = candidate
    if current:
        messages.append(current)
    return messages
