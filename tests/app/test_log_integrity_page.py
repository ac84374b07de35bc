"""The access log integrity page: witnesses store checkpoints and check the log only grew."""

from tests.app.conftest import signed_in

PAGE = "app_pages/log_integrity.py"


def test_wanda_sees_the_latest_signed_checkpoint_and_the_public_key(app):
    at = app(signed_in("wanda"), script=PAGE)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Access log integrity"
    assert "\u2014 " in at.code[0].value  # the signature line of the signed note
    assert any("verifier key" in c.value for c in at.caption)


def test_only_the_privacy_office_can_recompute_the_whole_log(app):
    at = app(signed_in("wanda"), script=PAGE)
    at.run()
    assert not [b for b in at.button if b.label == "Verify everything"]
    at = app(signed_in("priya"), script=PAGE)
    at.run()
    button = next(b for b in at.button if b.label == "Verify everything")
    button.click().run()
    assert not at.exception
    assert "the log is intact" in at.success[0].value


def test_an_employee_cannot_open_the_integrity_page(app):
    at = app(signed_in("alice"), script=PAGE)
    at.run()
    assert "do not have access" in at.error[0].value
    assert not at.code


def test_alice_sees_her_reads_verified_in_the_signed_log_and_can_download_proofs(app):
    at = app(signed_in("alice"), script="app_pages/who_accessed.py")
    at.run()
    assert not at.exception
    assert at.success and at.success[0].value.startswith("Verified: each of the")
    assert "In the signed log" in at.dataframe[0].value.columns
    assert set(at.dataframe[0].value["In the signed log"]) == {"verified"}
