"""Text that came from a person or a feed, shown as exactly that text.

Request details, reasons, names, roles, group names, dataset names, claims from
the identity provider: the portal did not write them, so they may carry Markdown
(an image that loads from someone else's server and tells them who opened the
page, a link, a heading that looks like a verdict), HTML, Unicode bidirectional
controls (an unterminated right-to-left override turns the rest of a sentence
around) or, in a CSV, a formula that a spreadsheet would run.

* :func:`clean` drops the bidi controls; sentences built for pages and for the
  command line pass such text through it.
* :func:`md` is :func:`clean` plus escaping, for any Streamlit element that reads
  Markdown (``st.markdown``, ``st.caption``, ``st.info`` and its kin, titles,
  metric labels): the element then shows the text, not what the text would make.
  Tables and ``st.text`` do not read Markdown and need only :func:`clean`.
* :func:`neutralise_cell`: a CSV cell a spreadsheet shows instead of running.
"""

from __future__ import annotations

import re

# Embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069), the implicit marks
# (U+200E, U+200F) and the Arabic letter mark (U+061C). Plain right-to-left letters need none of them.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
# Characters that open an inline construct anywhere in a line: emphasis, code, links and images,
# HTML and autolinks in angle brackets, entities, strikethrough, maths, tables, headings, escapes.
_INLINE = re.compile(r"([\\`*_~\[\]<>&$|#])")
# Characters that open a block only at the start of a line: list items, thematic breaks, ordered lists.
_BLOCK_START = re.compile(r"^([-+=])|^(\d+)([.)])")
# GitHub-flavoured Markdown turns bare addresses into links after escapes are resolved, so escaping
# cannot stop it; an invisible word joiner after "://", inside "www." and after "@" does.
_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?<=\bwww)(?=\.)|(?<=@)", re.IGNORECASE)
WORD_JOINER = "\u2060"

# A cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def clean(text: object) -> str:
    """``text`` without bidi controls, so it cannot turn the words around it."""
    return _BIDI.sub("", str(text))


def md(text: object) -> str:
    """``text`` for an element that reads Markdown, so that it shows as exactly this text.

    Whitespace runs (line breaks included) become single spaces, as a rendered
    paragraph shows them anyway, so the text cannot start a block of its own; every
    character that could open Markdown or HTML is backslash-escaped (CommonMark shows
    an escaped punctuation character as itself); addresses are kept from becoming links.
    """
    one_line = " ".join(clean(text).split())
    escaped = _INLINE.sub(r"\\\1", one_line)
    escaped = _BLOCK_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", escaped)
    return _AUTOLINK.sub(WORD_JOINER, escaped)


def neutralise_cell(value: str) -> str:
    """A spreadsheet-safe CSV cell: a leading apostrophe before formula-starting characters (OWASP).

    Only text cells are passed here: a negative number written as a number stays a number.
    """
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value
