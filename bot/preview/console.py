"""Telegram HTML shown readably in a terminal."""

from __future__ import annotations

from html.parser import HTMLParser

_STYLES = {
    "b": ("\x1b[1m", "\x1b[22m"),
    "i": ("\x1b[3m", "\x1b[23m"),
    "code": ("\x1b[2m", "\x1b[22m"),
}


class _Terminal(HTMLParser):
    def __init__(self, color: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.color = color
        self.out: list[str] = []
        self.links: list[tuple[str, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.append((dict(attrs).get("href") or "", len(self.out)))
        elif self.color and tag in _STYLES:
            self.out.append(_STYLES[tag][0])

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.links:
            href, start = self.links.pop()
            label = "".join(self.out[start:])
            if href and href != label:
                self.out.append(f" <{href}>")
        elif self.color and tag in _STYLES:
            self.out.append(_STYLES[tag][1])

    def handle_data(self, data: str) -> None:
        self.out.append(data)


def to_terminal(html: str, *, color: bool = False) -> str:
    """Render Telegram HTML as plain text, bold and italic as ANSI styles when `color`."""
    parser = _Terminal(color)
    parser.feed(html)
    parser.close()
    return "".join(parser.out)
