"""Text from people and feeds: escaped for Markdown, without bidi controls, safe in a spreadsheet."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.core.plain_text import BIDI_CONTROLS, WORD_JOINER, clean, md, neutralise_cell

# What CommonMark shows for a backslash before ASCII punctuation: the character itself.
_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def shown(markdown: str) -> str:
    """The text a Markdown renderer shows for ``md``'s output, which only escapes and joins."""
    return _UNESCAPE.sub(r"\1", markdown).replace(WORD_JOINER, "")


@pytest.mark.parametrize(("hostile", "escaped"), [
    ("![x](http://evil.example/p.png)", "!\\[x\\](http:\u2060//evil.example/p.png)"),
    ("[click](http://evil.example)", "\\[click\\](http:\u2060//evil.example)"),
    ("# APPROVED BY LEGAL", "\\# APPROVED BY LEGAL"),
    ("<img src=x onerror=alert(1)>", "\\<img src=x onerror=alert(1)\\>"),
    ("**bold** _it_ `code` ~~gone~~ a|b $x$ &amp;", "\\*\\*bold\\*\\* \\_it\\_ \\`code\\` \\~\\~gone\\~\\~ a\\|b \\$x\\$ \\&amp;"),
    ("- a list item", "\\- a list item"),
    ("+ another", "\\+ another"),
    ("12. an ordered item", "12\\. an ordered item"),
    ("3) another", "3\\) another"),
    ("---", "\\---"),
    ("> a quote", "\\> a quote"),
    ("    indented code\n\n# and a heading", "indented code \\# and a heading"),
    ("see www.evil.example or bob@example.com", "see www\u2060.evil.example or bob@\u2060example.com"),
    ("Anne-Marie O'Neill (Engineering)", "Anne-Marie O'Neill (Engineering)"),
])
def test_markdown_and_html_in_a_name_or_reason_are_escaped_so_they_show_as_written(hostile, escaped):
    assert md(hostile) == escaped


@pytest.mark.parametrize("control", list(BIDI_CONTROLS))
def test_an_unterminated_bidi_control_cannot_turn_the_rest_of_a_sentence_around(control):
    sentence = f"A grant gave group {control}finance-admins read access, although the catalog does not allow it."
    assert clean(sentence) == sentence.replace(control, "")
    assert control not in md(sentence)


@given(st.text())
def test_escaped_text_shows_exactly_the_original_words(text):
    escaped = md(text)
    assert shown(escaped) == " ".join(clean(text).split()).replace(WORD_JOINER, "")
    assert not set(escaped) & set(BIDI_CONTROLS)
    assert "\n" not in escaped


@given(st.text())
def test_no_character_that_opens_markdown_or_html_is_left_unescaped(text):
    unescaped_rest = re.sub(r"\\[\s\S]", "", md(text))  # what is left outside backslash escapes
    assert not set(unescaped_rest) & set("\\`*_~[]<>&$|#")


@pytest.mark.parametrize(("cell", "safe"), [
    ("=HYPERLINK(\"http://evil.example\")", "'=HYPERLINK(\"http://evil.example\")"), ("+1", "'+1"), ("-1+2", "'-1+2"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("Sales", "Sales"), ("a=b", "a=b"), ("", ""),
])
def test_a_text_cell_a_spreadsheet_would_run_gets_a_leading_apostrophe(cell, safe):
    assert neutralise_cell(cell) == safe
