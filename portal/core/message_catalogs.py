"""Keeping the message catalogs true to the code: extraction by domain, update, and the check.

Each source file belongs to one domain (first match in :data:`DOMAINS`), and each domain has a catalog
per language, ``portal/locale/<language>/LC_MESSAGES/<domain>.po``, so that work on one area of the
portal touches one catalog. ``python -m portal.core.message_catalogs update [domain ...]`` (``make
messages``) adds new message ids to every language's catalog (the English entry filled with the message
itself, the German one empty, to be translated), and drops ids the code no longer has;
``python -m portal.core.message_catalogs check`` lists what is missing, untranslated, fuzzy, stale, or
whose ``{placeholders}`` differ from the message's, and exits 1 if anything is.
"""

from __future__ import annotations

import fnmatch
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from portal.core.i18n import FORMAT_LOCALES, LANGUAGES, LOCALE_DIR

ROOT = LOCALE_DIR.parent.parent
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
#: Domain: the files (globs relative to the project root) whose messages it holds; first match wins.
DOMAINS: dict[str, tuple[str, ...]] = {
    "notify": ("portal/notify/*.py", "app_pages/notifications.py", "app_pages/settings.py",
               "portal/commands/notify.py", "portal/demo/devserver.py", "portal/demo/mail_sink.py"),
    "cli": ("portal/cli.py", "portal/commands/*.py", "portal/demo/*.py"),
    "pages": ("app.py", "ui.py", "app_pages/*.py", "portal/charts.py"),
    "privacy": ("portal/privacy/*.py", "portal/lineage/*.py", "portal/audit/*.py"),
    "portal": ("portal/*.py",),
}
SKIPPED = ("portal/core/message_catalogs.py", "portal/core/migrations/*")
Message = str | tuple[str, str]  # an id, or a singular and plural pair


def domain_of(relative: str) -> str | None:
    if any(fnmatch.fnmatch(relative, pattern) for pattern in SKIPPED):
        return None
    for domain, patterns in DOMAINS.items():
        if any(fnmatch.fnmatch(relative, pattern) for pattern in patterns):
            return domain
    return None


def source_files(root: Path = ROOT) -> Iterator[tuple[str, Path]]:
    """(domain, path) of every Python file the catalogs are extracted from."""
    for path in sorted([root / "app.py", root / "ui.py", *root.glob("app_pages/*.py"), *root.glob("portal/**/*.py")]):
        domain = domain_of(path.relative_to(root).as_posix()) if path.exists() else None
        if domain:
            yield domain, path


def extracted(domain: str, root: Path = ROOT) -> dict[Message, list[tuple[str, int]]]:
    """The messages in ``domain``'s files, each with where it occurs."""
    found: dict[Message, list[tuple[str, int]]] = {}
    for file_domain, path in source_files(root):
        if file_domain != domain:
            continue
        for lineno, message, _comments, _context in extract_from_file("python", path, keywords=KEYWORDS,
                                                                       comment_tags=("TRANSLATORS:",)):
            if isinstance(message, tuple):
                if len(message) != 2 or not all(message):
                    continue
                key: Message = (message[0], message[1])
            elif message:
                key = message
            else:
                continue
            found.setdefault(key, []).append((path.relative_to(root).as_posix(), lineno))
    return found


def catalog_path(language: str, domain: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / language / "LC_MESSAGES" / f"{domain}.po"


def read(language: str, domain: str, locale_dir: Path = LOCALE_DIR) -> Catalog:
    path = catalog_path(language, domain, locale_dir)
    if not path.exists():
        return Catalog(locale=FORMAT_LOCALES[language], domain=domain)
    with path.open("rb") as handle:
        return read_po(handle, locale=FORMAT_LOCALES[language], domain=domain)


def update(domain: str, root: Path = ROOT, locale_dir: Path = LOCALE_DIR) -> dict[str, int]:
    """Brings every language's catalog of ``domain`` in line with the code; returns new ids per language."""
    messages = extracted(domain, root)
    added: dict[str, int] = {}
    for language in LANGUAGES:
        old = read(language, domain, locale_dir)
        new = Catalog(locale=FORMAT_LOCALES[language], domain=domain, project="telemetry-transparency-portal",
                      fuzzy=False)
        added[language] = 0
        for message, locations in messages.items():
            previous = old.get(message[0] if isinstance(message, tuple) else message)
            if previous is not None and previous.string and not previous.fuzzy and (
                    isinstance(previous.string, tuple) == isinstance(message, tuple)):
                string = previous.string
            elif language == "en":
                string = message  # the code's English is the English catalog's entry
            else:
                string = ("", "") if isinstance(message, tuple) else ""
                added[language] += 1
            new.add(message, string, locations=locations)
        path = catalog_path(language, domain, locale_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, new, width=120, sort_output=True, omit_header=False, include_previous=False)
    return added


_PLACEHOLDER = re.compile(r"(?<!\{)\{([^{}]*)\}(?!\})")


def placeholders(text: str) -> set[str]:
    return {name.split(":")[0].split("!")[0] for name in _PLACEHOLDER.findall(text)}


@dataclass(frozen=True)
class Problem:
    language: str
    domain: str
    message: str
    what: str

    def __str__(self) -> str:
        return f"{self.language}/{self.domain}.po: {self.message!r}: {self.what}"


def problems(domains: Iterable[str] = DOMAINS, root: Path = ROOT, locale_dir: Path = LOCALE_DIR) -> list[Problem]:
    """Everything that keeps the catalogs from covering the code in every language."""
    found: list[Problem] = []
    for domain in domains:
        messages = extracted(domain, root)
        ids = {m[0] if isinstance(m, tuple) else m: m for m in messages}
        for language in LANGUAGES:
            catalog = read(language, domain, locale_dir)
            for msgid, message in ids.items():
                entry = catalog.get(msgid)
                if entry is None:
                    found.append(Problem(language, domain, msgid, "not in the catalog"))
                    continue
                strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
                if entry.fuzzy or not all(strings):
                    found.append(Problem(language, domain, msgid, "not translated" + (" (fuzzy)" if entry.fuzzy else "")))
                    continue
                expected = placeholders(" ".join(message) if isinstance(message, tuple) else message)
                for string in map(str, strings):
                    if placeholders(string) - expected - {"n"} or (expected - {"n"}) - placeholders(string):
                        found.append(Problem(language, domain, msgid, f"placeholders differ in {string!r}"))
            for entry in catalog:
                if entry.id and (entry.id[0] if isinstance(entry.id, tuple) else entry.id) not in ids:
                    found.append(Problem(language, domain, str(entry.id), "no longer in the code (run make messages)"))
    return found


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("update", "check"):
        print("usage: python -m portal.core.message_catalogs update|check [domain ...]", file=sys.stderr)
        return 2
    domains = args[1:] or list(DOMAINS)
    unknown = [d for d in domains if d not in DOMAINS]
    if unknown:
        print(f"unknown domain(s) {', '.join(unknown)}; the domains are {', '.join(DOMAINS)}", file=sys.stderr)
        return 2
    if args[0] == "update":
        for domain in domains:
            added = update(domain)
            print(f"{domain}: " + ", ".join(f"{n} new in {lang}" for lang, n in added.items()))
        return 0
    found = problems(domains)
    for problem in found:
        print(problem)
    print(f"{len(found)} problem(s) in the catalogs of {', '.join(domains)}.")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
