"""docs/receipts.md specifies receipts well enough to check one without the portal's code.

The verifier here is written from that page only: its own JSON encoder following the page's rules, and
the ``cryptography`` package for Ed25519. It checks the page's worked examples and receipts the portal
issues, and the page's own Python snippet is run against the same receipts.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from portal import cli
from portal.privacy import receipts
from tests.integration.privacy.test_erasure import KEYSTROKES, company, template  # noqa: F401 - fixtures

DOC = Path(__file__).resolve().parents[3] / "docs" / "receipts.md"


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def example(label: str) -> str:
    """The fenced block right after ``<!-- example: label -->`` in the page."""
    found = re.search(rf"<!-- example: {re.escape(label)} -->\n```[a-z]*\n(.*?)\n```", doc_text(), re.S)
    assert found, f"docs/receipts.md has no example {label!r}"
    return found.group(1)


# ---- a verifier written from the page ---------------------------------------------------------

SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def encode_char(c: str) -> str:
    if c in SHORT_ESCAPES:
        return SHORT_ESCAPES[c]
    if " " <= c <= "~":
        return c
    point = ord(c)
    if point > 0xFFFF:
        point -= 0x10000
        return f"\\u{0xD800 + (point >> 10):04x}\\u{0xDC00 + (point & 0x3FF):04x}"
    return f"\\u{point:04x}"


def encode(value: object) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + "".join(encode_char(c) for c in value) + '"'
    if isinstance(value, list):
        return "[" + ",".join(encode(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(encode(k) + ":" + encode(value[k]) for k in sorted(value)) + "}"
    raise ValueError(f"a receipt holds no {type(value).__name__}")


def signing_input(receipt: dict) -> bytes:
    return (encode({k: v for k, v in receipt.items() if k != "signature"}) + "\n").encode("ascii")


def unique(pairs: list) -> dict:
    if len({k for k, _ in pairs}) != len(pairs):
        raise ValueError("a member is named twice")
    return dict(pairs)


def check(text: str, published_key: str) -> dict:
    """The receipt if it verifies against ``published_key``; raises otherwise."""
    receipt = json.loads(text, object_pairs_hook=unique)
    if receipt.get("format") != "telemetry-portal-receipt/1":
        raise ValueError("unknown format")
    signature = receipt["signature"]
    if signature["algorithm"] != "Ed25519" or signature["public_key"] != published_key:
        raise ValueError("not signed with the published key")
    name, key_id, encoded = published_key.split("+", 2)
    raw = base64.b64decode(encoded, validate=True)
    if len(raw) != 33 or raw[0] != 0x01:
        raise ValueError("not an Ed25519 verifier key")
    if hashlib.sha256(name.encode("utf-8") + b"\x0a" + raw).digest()[:4].hex() != key_id:
        raise ValueError("the key id does not match the key")
    Ed25519PublicKey.from_public_bytes(raw[1:]).verify(base64.b64decode(signature["value"], validate=True),
                                                        signing_input(receipt))
    return receipt


def docs_snippet_check():
    """The ``check`` function of the page's Python snippet."""
    block = re.search(r"```python\n(.*?)\n```", doc_text(), re.S)
    assert block, "docs/receipts.md shows no Python verifier"
    namespace: dict = {}
    exec(compile(block.group(1), str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["check"]


# ---- the page's examples ----------------------------------------------------------------------


def test_the_encoding_example_in_the_doc_is_what_the_portal_signs_with_one_final_line_feed():
    value = json.loads(example("encoding input"))
    line = example("encoding output")
    assert encode(value) == line
    assert receipts.canonical_bytes(value) == (line + "\n").encode("ascii")


def test_the_signed_example_in_the_doc_verifies_and_its_signing_input_hash_is_as_stated():
    key, text = example("verifier key"), example("signed receipt")
    receipt = check(text, key)
    assert hashlib.sha256(signing_input(receipt)).hexdigest() == example("signing input sha256")
    assert len(signing_input(receipt)) == 1060 and signing_input(receipt).endswith(b"}\n")
    assert receipts.verify(text, key).document == json.loads(text)
    assert docs_snippet_check()(text, key)["request_id"] == "REQ-0A1B2C3D"
    with pytest.raises(InvalidSignature):
        check(text.replace('"rows_after": 0', '"rows_after": 1'), key)
    with pytest.raises(InvalidSignature):  # without the final line feed no genuine receipt verifies
        Ed25519PublicKey.from_public_bytes(base64.b64decode(key.split("+", 2)[2])[1:]).verify(
            base64.b64decode(json.loads(text)["signature"]["value"]), signing_input(json.loads(text))[:-1])


# ---- receipts the portal issues ---------------------------------------------------------------




def published_key(company, monkeypatch, capsys) -> str:
    """What ``portal receipt key`` prints for this portal."""
    monkeypatch.setenv("PORTAL_DATA_DIR", str(company.services.settings.data_dir))
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    capsys.readouterr()
    assert cli.main(["receipt", "key"]) == 0
    return capsys.readouterr().out.strip()


@pytest.mark.parametrize("scope", [None, [KEYSTROKES]], ids=["everything", "one category"])
def test_a_verifier_written_from_the_doc_accepts_the_portals_erasure_receipt_and_refuses_a_changed_one(
        company, monkeypatch, capsys, scope):
    request_id = company.approved(**({"categories": scope} if scope else {}))
    from portal.privacy import erasure

    issued = erasure.execute(company.engine, company.store, company.priya, request_id)
    stored = receipts.for_request(company.engine, company.alice, request_id)
    key = published_key(company, monkeypatch, capsys)
    for text in (issued.text, stored.text, json.dumps(stored.document)):
        assert check(text, key)["request_id"] == request_id
        assert docs_snippet_check()(text, key)["request_id"] == request_id
    assert signing_input(issued.document) == receipts.canonical_bytes(issued.document)
    changed = json.loads(stored.text)
    changed["stores"]["telemetry"]["keystrokes"]["rows_removed"] += 1
    with pytest.raises(InvalidSignature):
        check(json.dumps(changed), key)
    with pytest.raises(ValueError, match="published key"):
        check(stored.text, receipts.signer(company.services.settings.data_dir / "elsewhere").verifier_key)


def test_the_docs_string_rules_match_what_the_portal_signs_for_quotes_controls_and_non_ascii(company):
    hostile = ['"quoted" \\ back/slash', "\b\f\n\r\t", "\x00\x01\x1f\x7f", "Zoë Ünïcödé ß", "\u2028\u2029",
               "😀 𝔘", "\ufeffbom", "~ and space"]
    body = {"format": receipts.FORMAT, "issuer": receipts.ISSUER, "request_id": "REQ-0000ABCD", "kind": "erasure",
            "scope": {"words": hostile[0], "categories": [], "purpose": None}, "stores": {}, "verification": {},
            "datasets_flagged": [], "models_affected": [], "times": {}, "kept": hostile,
            "Zoë": {"é": -12, "e": 0, "ä": [True, False, None]}}
    key = receipts.signer(company.services.settings.data_dir)
    signed = receipts.sign(body, key)
    assert check(signed.text, key.verifier_key)["kept"] == hostile
    assert docs_snippet_check()(signed.text, key.verifier_key)["Zoë"] == body["Zoë"]
    assert signing_input(signed.document) == receipts.canonical_bytes(signed.document)
