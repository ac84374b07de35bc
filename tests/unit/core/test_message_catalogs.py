"""Every message a person reads is in the English and the German catalog, translated, with its placeholders."""

from __future__ import annotations

import ast
from pathlib import Path


from portal.core import message_catalogs
from datetime import UTC, datetime

from portal.core.i18n import day, in_language, negotiate, number

ROOT = Path(__file__).resolve().parents[3]
# Streamlit calls whose text argument (first positional, or these keywords) a person reads.
SHOWN = {"title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success", "toast",
         "button", "download_button", "metric", "selectbox", "radio", "checkbox", "text_input", "text_area",
         "number_input", "date_input", "expander", "toggle", "write", "text", "form_submit_button", "spinner",
         "status", "page_link", "popover", "multiselect", "file_uploader", "link_button", "segmented_control",
         "pills", "select_slider", "slider", "tabs"}
KEYWORDS = {"label", "help", "placeholder", "body", "title", "caption", "text"}


def _wordy(node: ast.AST) -> bool:
    """A literal (or f-string) with a word in it, written into the call instead of through the catalogs."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return any(len(w) > 1 and w.isalpha() for w in node.value.replace(":material/", " ").split()
                   if not w.startswith(":"))
    if isinstance(node, ast.JoinedStr):
        return any(_wordy(v) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp):
        return _wordy(node.left) or _wordy(node.right)
    if isinstance(node, (ast.List, ast.Tuple)):
        return any(_wordy(e) for e in node.elts)
    return False


def _untranslated_in_pages() -> list[str]:
    found = []
    for path in [ROOT / "app.py", ROOT / "ui.py", *sorted((ROOT / "app_pages").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SHOWN):
                continue
            owner = node.func.value
            if not (isinstance(owner, ast.Name) and owner.id in ("st", "col", "left", "right", "tab", "box")) and \
                    not isinstance(owner, ast.Attribute):
                continue
            args = node.args[:1] + [k.value for k in node.keywords if k.arg in KEYWORDS]
            if any(_wordy(a) for a in args):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)[:90]}")
    return found


def _formatted_before_translation() -> list[str]:
    """_() of an f-string or a concatenation: the catalogs never see the message it looks up."""
    found = []
    for path in message_catalogs.source_files():
        for node in ast.walk(ast.parse(path[1].read_text(), filename=str(path[1]))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "ngettext") \
                    and node.args and any(isinstance(a, (ast.JoinedStr, ast.BinOp)) for a in node.args[:2]):
                found.append(f"{path[1].relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_message_in_the_code_is_translated_in_both_catalogs():
    problems = message_catalogs.problems()
    assert not problems, f"{len(problems)} catalog problem(s), e.g.:\n" + "\n".join(map(str, problems[:40]))


def test_pages_write_no_text_past_the_catalogs():
    found = _untranslated_in_pages()
    assert not found, "text shown without _():\n" + "\n".join(found[:60])


def test_no_message_is_formatted_before_it_is_looked_up():
    found = _formatted_before_translation()
    assert not found, "_() of an f-string or concatenation (format after translating):\n" + "\n".join(found)


def test_the_check_fails_for_a_message_until_german_translates_it(tmp_path):
    (tmp_path / "app_pages").mkdir()
    (tmp_path / "app_pages" / "page.py").write_text('from portal.core.i18n import _\n_("Hello {name}")\n')
    locale = tmp_path / "locale"

    def problems() -> list[str]:
        return [f"{p.language}: {p.what}" for p in message_catalogs.problems(["pages"], tmp_path, locale)]

    assert problems() == ["en: not in the catalog", "de: not in the catalog"]
    assert message_catalogs.update("pages", tmp_path, locale) == {"en": 0, "de": 1}
    assert problems() == ["de: not translated"]
    de = message_catalogs.catalog_path("de", "pages", locale)
    de.write_text(de.read_text().rsplit('msgstr ""', 1)[0] + 'msgstr "Hallo {nam}"\n')
    assert problems() == ["de: placeholders differ in 'Hallo {nam}'"]
    de.write_text(de.read_text().replace("{nam}", "{name}"))
    assert problems() == []
    (tmp_path / "app_pages" / "page.py").write_text("")
    assert problems() == ["en: no longer in the code (run make messages)", "de: no longer in the code (run make messages)"]


def test_accept_language_picks_the_first_language_the_portal_speaks():
    assert negotiate("fr-CH, fr;q=0.9, de-DE;q=0.8, en;q=0.7") == "de"
    assert negotiate("en-US,en;q=0.9,de;q=0.8") == "en"
    assert negotiate("de;q=0.5, en;q=0.6") == "en"
    assert negotiate("fr, *;q=0.5") is None
    assert negotiate("<script>, de;q=abc, de-AT") == "de"
    assert negotiate("") is None


def test_dates_and_numbers_follow_the_language():
    moment = datetime(2026, 11, 27, 14, 3, tzinfo=UTC)
    with in_language("en"):
        assert (day(moment), number(12345)) == ("27 Nov 2026", "12,345")
    with in_language("de"):
        assert (day(moment), number(12345)) == ("27.11.2026", "12.345")
