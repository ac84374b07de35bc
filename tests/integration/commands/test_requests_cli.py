"""``portal requests`` and ``portal receipt``: the privacy office's command line, start to finish."""

from __future__ import annotations

import json

import pytest

from portal.privacy import receipts
from tests.integration.privacy.test_erasure import ALICE_ID, assert_erased_everywhere, company, template  # noqa: F401
from tests.integration.privacy.test_optout import run_cli


@pytest.fixture
def portal(company, monkeypatch, capsys):
    def run(*argv):
        return run_cli(company, monkeypatch, capsys, *argv)

    return run


def filed(portal, *extra) -> dict:
    code, out, err = portal("requests", "file", "--subject", "alice@example.com", "--kind", "erasure", "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def test_a_request_goes_from_filing_to_a_verified_receipt_on_the_command_line(company, portal, tmp_path):
    request = filed(portal, "--categories", "user.behavior.keystrokes", "--channel", "letter")
    assert request["status"] == "submitted" and request["subject"] == ALICE_ID and request["id"].startswith("REQ-")
    assert portal("requests", "extend", request["id"], "--reason", "the archive is offline this month")[0] == 0
    assert portal("requests", "approve", request["id"], "--reason", "identity confirmed by letter")[0] == 0
    code, out, _ = portal("requests", "plan", request["id"], "--json")
    assert code == 0 and [t["table"] for t in json.loads(out)["tables"]][0] == "keystrokes"
    code, out, err = portal("requests", "run")
    assert code == 0, err
    assert f"{request['id']}: completed and verified" in out
    assert_erased_everywhere(company, ["keystrokes"])

    code, out, _ = portal("requests", "show", request["id"], "--json")
    shown = json.loads(out)
    assert shown["status"] == "completed" and shown["extension_reason"] == "the archive is offline this month"
    assert shown["due"] == shown["extended_deadline"]
    assert [(h["from"], h["to"], h["by"]) for h in shown["history"]] == [
        (None, "submitted", "privacy_office"), ("submitted", "submitted", "privacy_office"),
        ("submitted", "in_review", "privacy_office"), ("in_review", "approved", "privacy_office"),
        ("approved", "executing", "privacy_office"), ("executing", "completed", "executor")]
    assert {h["actor"] for h in shown["history"][:-1]} == {"svc:portal-cli"}

    target = tmp_path / "receipt.json"
    assert portal("requests", "receipt", request["id"], "--out", str(target))[0] == 0
    code, out, _ = portal("receipt", "verify", str(target))
    assert code == 0 and "intact" in out
    code, key, _ = portal("receipt", "key")
    assert portal("receipt", "verify", str(target), "--key", key.strip())[0] == 0


def test_list_and_show_speak_plainly_and_json_for_scripts(portal):
    request = filed(portal)
    code, out, _ = portal("requests", "list", "--json")
    assert code == 0 and [r["id"] for r in json.loads(out)] == [request["id"]]
    code, out, _ = portal("requests", "list", "--status", "completed")
    assert code == 0 and "No requests with status completed." in out
    code, out, _ = portal("requests", "show", request["id"])
    assert code == 0 and "received, waiting for the privacy office" in out and "filed" in out


@pytest.mark.parametrize(("argv", "message"), [
    (("requests", "file", "--subject", "nobody@example.com", "--kind", "erasure"), "no employee has"),
    (("requests", "file", "--subject", "alice", "--kind", "objection"), "names a purpose"),
    (("requests", "file", "--subject", "alice", "--kind", "erasure", "--categories", "user.workplace.performance"),
     "kept under the employment contract"),
    (("requests", "show", "REQ-00000000"), "no privacy request with id 'REQ-00000000'"),
    (("requests", "list", "--status", "lost"), "unknown status 'lost'"),
    (("requests", "approve", "REQ-00000000", "--reason", " "), "--reason must say why"),
    (("requests", "receipt", "REQ-00000000", "--out", "/tmp/never-written.json"), "no receipt yet"),
], ids=["unknown subject", "objection without scope", "performance", "unknown id", "unknown status", "blank reason",
        "no receipt"])
def test_bad_input_gets_one_line_naming_the_problem_and_exit_2(portal, argv, message):
    code, out, err = portal(*argv)
    assert code == 2 and message in err and "Traceback" not in out + err


def test_a_second_extension_is_refused_and_a_rejection_reaches_the_employee(portal):
    request = filed(portal)
    assert portal("requests", "extend", request["id"], "--reason", "busy", "--months", "1")[0] == 0
    code, _, err = portal("requests", "extend", request["id"], "--reason", "still busy")
    assert code == 2 and "already extended once" in err
    assert portal("requests", "reject", request["id"], "--reason", "we hold no such data")[0] == 0
    code, out, _ = portal("requests", "show", request["id"], "--json")
    assert json.loads(out)["decision_reason"] == "we hold no such data"


def test_run_exits_non_zero_when_a_request_fails_and_leaves_it_to_be_run_again(company, portal, monkeypatch):
    from portal.lake.telemetry import TelemetryStore

    request = filed(portal)
    portal("requests", "approve", request["id"], "--reason", "ok")
    monkeypatch.setattr(TelemetryStore, "_vacuum", staticmethod(lambda table: 0))
    code, _, err = portal("requests", "run", request["id"])
    assert code == 1 and "FAILED" in err and "keystrokes" in err and "1 of 1 request(s) failed" in err
    code, out, _ = portal("requests", "show", request["id"])
    assert "being carried out" in out and "last attempt failed" in out
    monkeypatch.undo()
    code, out, _ = portal("requests", "run")
    assert code == 0 and "completed and verified" in out


@pytest.mark.parametrize(("change", "message"), [
    (lambda text: text.replace('"rows_removed": ', '"rows_removed": 1'), "signature does not match"),
    (lambda text: text[:-20], "not valid JSON"),
    (lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "verification"}),
     "lacks the field(s) verification"),
], ids=["count changed", "truncated", "field removed"])
def test_receipt_verify_exits_1_and_says_what_failed_for_a_damaged_receipt(company, portal, tmp_path, change,
                                                                          message):
    request = filed(portal, "--categories", "user.behavior.mouse_movement")
    portal("requests", "approve", request["id"], "--reason", "ok")
    portal("requests", "run", request["id"])
    target = tmp_path / "receipt.json"
    portal("requests", "receipt", request["id"], "--out", str(target))
    target.write_text(change(target.read_text()))
    code, out, err = portal("receipt", "verify", str(target))
    assert code == 1 and "NOT intact" in err and message in err


def test_receipt_verify_refuses_a_receipt_signed_with_a_foreign_key(company, portal, tmp_path):
    forged = receipts.sign({"format": receipts.FORMAT, "issuer": "someone", "request_id": "REQ-F0F0F0F0",
                            "kind": "erasure", "scope": {}, "stores": {}, "verification": {"result": "passed"},
                            "datasets_flagged": [], "models_affected": [], "times": {}},
                           receipts.signer(tmp_path / "elsewhere"))
    target = tmp_path / "forged.json"
    target.write_text(forged.text)
    key_file = tmp_path / "portal.vkey"
    key_file.write_text(receipts.verifier_key(company.services.settings.data_dir))
    code, _, err = portal("receipt", "verify", str(target), "--key", str(key_file))
    assert code == 1 and "foreign key" in err
    code, _, err = portal("receipt", "verify", str(target))  # this portal's own key is the default
    assert code == 1 and "foreign key" in err
    code, _, err = portal("receipt", "verify", str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read" in err


def test_receipt_verify_without_any_pinned_key_refuses_to_call_a_receipt_intact(tmp_path, monkeypatch, capsys):
    from portal import cli

    receipt = receipts.sign({"format": receipts.FORMAT, "issuer": "someone", "request_id": "REQ-F0F0F0F0",
                             "kind": "erasure", "scope": {}, "stores": {}, "verification": {"result": "passed"},
                             "datasets_flagged": [], "models_affected": [], "times": {}},
                            receipts.signer(tmp_path / "forger"))
    target = tmp_path / "receipt.json"
    target.write_text(receipt.text)
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path / "no-portal-here"))
    assert cli.main(["receipt", "verify", str(target)]) == 2
    out, err = capsys.readouterr()
    assert "intact" not in out and "--key FILE" in err
    assert not (tmp_path / "no-portal-here" / "keys").exists()  # checking never creates a key
    key = tmp_path / "forger.vkey"
    key.write_text(receipts.verifier_key(tmp_path / "forger"))
    assert cli.main(["receipt", "verify", str(target), "--key", str(key)]) == 0
    out = capsys.readouterr().out
    assert "intact" in out and f"key id {receipt.public_key.split('+')[1]}" in out and str(key) in out
