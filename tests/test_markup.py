"""Body markup to Telegram HTML, and statements cut into messages Telegram accepts."""

from __future__ import annotations

from bot.campaign.markup import (
    MESSAGE_LIMIT,
    pack_messages,
    render_blocks,
    render_inline,
    render_lines,
    telegram_length,
)


def test_markup_renders_headings_emphasis_links_and_bullets() -> None:
    """Each documented markup renders to its Telegram HTML tag."""
    source = (
        "## Enablers\n\nSome **bold**, *italic* and [a link](https://example.org/?a=1&b=2).\n"
        "- one\n- two"
    )
    assert render_blocks(source) == [
        "<b>Enablers</b>",
        "Some <b>bold</b>, <i>italic</i> and "
        '<a href="https://example.org/?a=1&amp;b=2">a link</a>.\n• one\n• two',
    ]


def test_everything_else_is_escaped() -> None:
    """HTML typed by an organizer is shown, not interpreted."""
    assert render_inline('<script>alert("x")</script> & <b>') == (
        '&lt;script&gt;alert("x")&lt;/script&gt; &amp; &lt;b&gt;'
    )


def test_only_web_links_become_links() -> None:
    """A javascript: link stays literal text."""
    assert render_inline("[x](javascript:alert(1))") == "[x](javascript:alert(1))"


def test_arithmetic_stars_are_not_emphasis() -> None:
    """Stars inside words (2*3*4) stay stars."""
    assert render_inline("2*3*4 and *this*") == "2*3*4 and <i>this</i>"


def test_long_text_is_split_between_paragraphs_in_order() -> None:
    """A long text becomes several messages, each under the limit, cut only between paragraphs."""
    paragraphs = [f"Paragraph {n}: " + "word " * 150 for n in range(40)]
    messages = pack_messages(render_blocks("\n\n".join(paragraphs)))
    assert len(messages) > 1
    assert all(telegram_length(m) <= MESSAGE_LIMIT for m in messages)
    rejoined = "\n\n".join(messages).split("\n\n")
    assert [p.split(":")[0] for p in rejoined] == [f"Paragraph {n}" for n in range(40)]


def test_one_huge_paragraph_is_cut_at_sentences() -> None:
    """A single paragraph over the limit is cut at sentence ends, losing no word."""
    source = " ".join(f"Sentence number {n} ends here." for n in range(600))
    messages = pack_messages(render_blocks(source))
    assert len(messages) > 1
    assert all(telegram_length(m) <= MESSAGE_LIMIT for m in messages)
    assert " ".join(" ".join(messages).split()) == source
    assert all(m.endswith("ends here.") for m in messages)


def test_length_is_counted_as_telegram_does() -> None:
    """Characters outside the BMP count twice, as in UTF-16."""
    assert telegram_length("✊") == 1
    assert telegram_length("🇵🇸") == 4


def test_lines_stay_one_to_a_line_and_are_cut_only_past_the_limit() -> None:
    """Closing lines render one to a line, without headings; many lines split between lines."""
    assert render_lines(["## Not a heading", "- nor a bullet", "**Bold**"]) == [
        "## Not a heading\n- nor a bullet\n<b>Bold</b>"
    ]
    lines = [f"Line {n}: " + "word " * 40 for n in range(100)]
    blocks = render_lines(lines)
    assert len(blocks) > 1
    assert all(telegram_length(b) <= MESSAGE_LIMIT for b in blocks)
    assert "\n".join(blocks).split("\n") == lines
    huge = " ".join(f"Sentence {n} ends here." for n in range(600))
    assert all(telegram_length(b) <= MESSAGE_LIMIT for b in render_lines([huge]))
