"""Signed receipts: an intact receipt verifies in any JSON layout; any change, and any foreign key, fails."""

from __future__ import annotations

import base64
import copy
import json
import stat

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from portal.audit import checkpoint
from portal.privacy import receipts

BODY = {
    "format": receipts.FORMAT, "issuer": receipts.ISSUER, "request_id": "REQ-0A1B2C3D", "kind": "erasure",
    "scope": {"words": "Keystroke activity", "categories": ["user.behavior.keystrokes"], "purpose": None},
    "stores": {"telemetry": {"keystrokes": {"category": "user.behavior.keystrokes", "rows_before": 95,
                                            "rows_removed": 95, "rows_after": 0, "version_before": 1,
                                            "version_after": 4}},
               "metadata": {"dataset_members": {"rows_removed": 3}}},
    "verification": {"result": "passed", "checked_at": "2026-11-28T10:00:00Z",
                     "telemetry": {"keystrokes": {"files_scanned": 8, "rows_found": 0}}},
    "datasets_flagged": [{"dataset": "keystroke-dynamics", "version": "v3", "status": "rebuild_required",
                          "status_words": "must be rebuilt before the next training run"}],
    "models_affected": [{"model": "typing-fatigue-detector", "version": "1.1",
                         "trained_on": ["keystroke-dynamics v3"]}],
    "times": {"received_at": "2026-11-20T09:00:00Z", "issued_at": "2026-11-28T10:00:01Z"},
    "kept": ["the request and its history", "Zoë's note: ünïcödé survives canonical encoding"],
}


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> checkpoint.Signer:
    return receipts.signer(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def other_key(tmp_path_factory) -> checkpoint.Signer:
    return receipts.signer(tmp_path_factory.mktemp("other-keys"))


@pytest.fixture(scope="module")
def receipt(key) -> receipts.Receipt:
    return receipts.sign(BODY, key)


def test_a_signed_receipt_verifies_and_embeds_its_public_key(receipt, key):
    checked = receipts.verify(receipt.text)
    assert checked.document == receipt.document
    assert receipt.public_key == key.verifier_key
    assert receipts.verify(receipt.text, key.verifier_key).request_id == "REQ-0A1B2C3D"


def test_any_json_layout_of_the_same_receipt_verifies(receipt):
    compact = json.dumps(receipt.document, separators=(",", ":"))
    shuffled = json.dumps(dict(reversed(list(receipt.document.items()))), indent=7, ensure_ascii=True)
    assert receipts.verify(compact).document == receipts.verify(shuffled).document == receipt.document


def test_the_signature_covers_the_canonical_encoding_an_outsider_can_rebuild(receipt, key):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    doc = json.loads(receipt.text)
    signature = doc.pop("signature")
    message = (json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n").encode()
    raw = base64.b64decode(signature["public_key"].split("+", 2)[2])[1:]  # name+keyid+base64 (may hold "+")
    Ed25519PublicKey.from_public_bytes(raw).verify(base64.b64decode(signature["value"]), message)


def _tampered(receipt, change):
    doc = copy.deepcopy(receipt.document)
    change(doc)
    return json.dumps(doc)


@pytest.mark.parametrize("change", [
    lambda d: d["stores"]["telemetry"]["keystrokes"].update(rows_after=3),
    lambda d: d["verification"].update(result="failed"),
    lambda d: d.update(request_id="REQ-FFFFFFFF"),
    lambda d: d["datasets_flagged"].pop(),
    lambda d: d["models_affected"].append({"model": "x", "version": "1", "trained_on": []}),
    lambda d: d["kept"].__setitem__(1, "Zoe's note"),
    lambda d: d.update(extra="an added field"),
    lambda d: d["signature"].update(value=base64.b64encode(bytes(64)).decode()),
], ids=["count", "verification", "request id", "dataset removed", "model added", "unicode text", "field added",
        "signature zeroed"])
def test_any_change_after_signing_breaks_the_signature(receipt, change):
    with pytest.raises(receipts.ReceiptError, match="signature does not match"):
        receipts.verify(_tampered(receipt, change))


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path_index=st.integers(min_value=0, max_value=10_000), value=st.one_of(
    st.integers(min_value=-5, max_value=10**6), st.text(max_size=12), st.booleans(), st.none()))
def test_changing_any_single_value_is_detected(receipt, path_index, value):
    leaves = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                if path or k != "signature":
                    walk(v, path + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, path + [i])
        else:
            leaves.append(path)

    walk(receipt.document, [])
    path = leaves[path_index % len(leaves)]
    doc = copy.deepcopy(receipt.document)
    target = doc
    for step in path[:-1]:
        target = target[step]
    if target[path[-1]] == value and type(target[path[-1]]) is type(value):
        return  # not a change
    target[path[-1]] = value
    with pytest.raises(receipts.ReceiptError):
        receipts.verify(json.dumps(doc))


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "not a JSON object"),
    ('{"format": "telemetry-portal-receipt/1"}', "lacks the field(s) request_id, kind"),
    ("", "not valid JSON"),
], ids=["broken", "array", "fields missing", "empty"])
def test_a_malformed_receipt_is_refused_with_the_reason(text, message):
    with pytest.raises(receipts.ReceiptError, match=message.replace("(", r"\(").replace(")", r"\)")):
        receipts.verify(text)


def test_a_receipt_without_its_signature_is_refused(receipt):
    doc = copy.deepcopy(receipt.document)
    del doc["signature"]
    with pytest.raises(receipts.ReceiptError, match="lacks the field.*signature"):
        receipts.verify(json.dumps(doc))
    doc["signature"] = {"algorithm": "Ed25519", "value": "AA=="}
    with pytest.raises(receipts.ReceiptError, match="signature lacks the field.*public_key"):
        receipts.verify(json.dumps(doc))


def test_a_field_given_twice_is_refused_rather_than_read_one_way(receipt):
    text = receipt.text.replace('"kind": "erasure"', '"kind": "erasure", "kind": "access"')
    with pytest.raises(receipts.ReceiptError, match="names the field.*kind.*more than once"):
        receipts.verify(text)


def test_a_receipt_re_signed_with_a_foreign_key_passes_alone_but_not_against_the_portals_key(receipt, key,
                                                                                             other_key):
    forged = receipts.sign({**receipt.document, "request_id": "REQ-F0F0F0F0"}, other_key)
    assert receipts.verify(forged.text).request_id == "REQ-F0F0F0F0"  # self-consistent, but whose?
    with pytest.raises(receipts.ReceiptError, match="foreign key"):
        receipts.verify(forged.text, key.verifier_key)


def test_an_unusable_expected_key_is_named(receipt):
    with pytest.raises(receipts.ReceiptError, match="expected key is unusable"):
        receipts.verify(receipt.text, "not-a-key")


def test_a_swapped_public_key_does_not_verify_the_original_signature(receipt, other_key):
    doc = copy.deepcopy(receipt.document)
    doc["signature"]["public_key"] = other_key.verifier_key
    with pytest.raises(receipts.ReceiptError, match="signature does not match"):
        receipts.verify(json.dumps(doc))


def test_floating_point_numbers_are_refused_because_their_encoding_is_ambiguous(key):
    with pytest.raises(receipts.ReceiptError, match="floating-point"):
        receipts.sign({**BODY, "stores": {"telemetry": {"keystrokes": {"rows_removed": 1.0}}}}, key)


def test_non_utf8_bytes_are_refused_with_the_position():
    with pytest.raises(receipts.ReceiptError, match="not UTF-8"):
        receipts.verify(b'{"a": "\xff"}')


def test_the_signing_key_is_created_once_private_and_reused(tmp_path):
    first = receipts.signer(tmp_path)
    second = receipts.signer(tmp_path)
    assert first.verifier_key == second.verifier_key == receipts.verifier_key(tmp_path)
    private = receipts.key_dir(tmp_path) / checkpoint.PRIVATE_KEY_FILE
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert first.verifier_key.startswith(receipts.KEY_NAME + "+")
