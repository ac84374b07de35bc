"""Tests of C2SP signed notes and tlog checkpoints in portal.audit.checkpoint."""

from __future__ import annotations

import base64
import os
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal.audit.checkpoint import (
    Checkpoint,
    CheckpointError,
    Signer,
    checkpoint_body,
    generate_keypair,
    key_id,
    load_signer,
    load_verifier_key,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
)
from portal.audit.merkle import MerkleError, MerkleTree, leaf_hash, verify_inclusion

EM = "\u2014"

# Known answers of golang.org/x/mod/sumdb/note (package documentation and note_test.go).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = ("If you think cryptography is the answer to your problem,\n"
           "then you don't know what your problem is.\n")
PETER_SIG = f"{EM} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
ENOCH_SIG = f"{EM} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
# Worked example of the C2SP signed-note specification.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (f"This is an example message.\n\n{EM} example.com/foo "
             "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n")

ORIGIN = "portal.example/telemetry-log"
ROOT = bytes(range(32))


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(b"\x07" * 32))


# --- reference vectors --------------------------------------------------------

def test_signing_the_go_reference_note_reproduces_its_signature_byte_for_byte():
    go = Signer.from_private_key_string(GO_SKEY)
    assert go.key_id.hex() == "c74f20a3"
    assert go.verifier_key == GO_VKEY
    assert go.private_key_string() == GO_SKEY
    assert go.sign_note(GO_TEXT) == GO_TEXT + "\n" + PETER_SIG


def test_the_c2sp_specification_example_note_opens_with_its_verifier_key():
    assert open_note(SPEC_NOTE, SPEC_VKEY) == "This is an example message.\n"
    assert open_note(SPEC_NOTE.encode(), parse_verifier_key(SPEC_VKEY)) == "This is an example message.\n"


def test_signatures_by_other_keys_are_ignored_and_each_trusted_key_finds_its_own():
    note = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(note, GO_VKEY) == GO_TEXT
    assert open_note(note, ENOCH_VKEY) == GO_TEXT


def test_key_id_is_the_first_four_bytes_of_sha256_over_name_newline_type_and_key():
    vk = parse_verifier_key(GO_VKEY)
    raw = base64.b64decode(GO_VKEY.split("+", 2)[2])[1:]
    assert key_id("PeterNeumann", raw) == vk.key_id == bytes.fromhex("c74f20a3")
    assert str(vk) == GO_VKEY


@pytest.mark.parametrize("vkey,message", [
    ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key id c74f20a4 does not match"),
    ("PeterNeumann+c74f20a3", "not of the form"),
    ("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "not of the form"),
    ("PeterNeumann+c74f20a3+AhpjZQ==", "not a 0x01-prefixed 32-byte Ed25519 key"),
    ("PeterNeumann+c74f20a3+!!!", "not valid canonical base64"),
    ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "must be non-empty, without spaces"),
])
def test_malformed_verifier_keys_are_rejected_with_the_reason(vkey, message):
    with pytest.raises(CheckpointError, match=message):
        parse_verifier_key(vkey)


# --- checkpoints --------------------------------------------------------------

def test_a_signed_checkpoint_round_trips_through_parse(signer):
    text = signer.sign_checkpoint(ORIGIN, 12345, ROOT)
    body = f"{ORIGIN}\n12345\n{base64.b64encode(ROOT).decode()}\n"
    assert text.startswith(body + "\n" + f"{EM} {ORIGIN} ")
    assert text.endswith("\n") and text.count("\n") == 5
    checkpoint = parse_checkpoint(text, signer.verifier_key, ORIGIN)
    assert checkpoint == Checkpoint(ORIGIN, 12345, ROOT, text)
    with pytest.raises(AttributeError):
        checkpoint.size = 1  # frozen


def test_a_checkpoint_of_the_empty_tree_round_trips(signer):
    root = MerkleTree().root()
    assert parse_checkpoint(signer.sign_checkpoint(ORIGIN, 0, root), signer.verifier_key, ORIGIN).size == 0


def test_a_checkpoint_of_an_older_size_proves_inclusion_of_its_entries(signer):
    tree = MerkleTree()
    tree.append_many(b"event-%d" % i for i in range(1000))
    note = signer.sign_checkpoint(ORIGIN, 700, tree.root(700))
    cp = parse_checkpoint(note, signer.verifier_key, ORIGIN)
    verify_inclusion(leaf_hash(b"event-321"), 321, cp.size, tree.inclusion_proof(321, cp.size), cp.root_hash)


def test_a_checkpoint_for_another_origin_is_rejected(signer):
    text = signer.sign_checkpoint("other.example/log", 5, ROOT)
    with pytest.raises(CheckpointError, match="origin 'other.example/log', expected 'portal.example/telemetry-log'"):
        parse_checkpoint(text, signer.verifier_key, ORIGIN)


def test_a_checkpoint_signed_by_another_key_is_rejected(signer):
    other = Signer(ORIGIN, Ed25519PrivateKey.generate())
    text = other.sign_checkpoint(ORIGIN, 5, ROOT)
    with pytest.raises(CheckpointError, match=f"no signature by key {ORIGIN} \\({signer.key_id.hex()}\\)"):
        parse_checkpoint(text, signer.verifier_key, ORIGIN)


def test_a_checkpoint_signed_under_another_key_name_is_rejected(signer):
    other = Signer("someone.else/log", Ed25519PrivateKey.from_private_bytes(b"\x07" * 32))
    with pytest.raises(CheckpointError, match="signed by: someone.else/log"):
        parse_checkpoint(other.sign_checkpoint(ORIGIN, 5, ROOT), signer.verifier_key, ORIGIN)


def test_flipping_any_bit_of_the_body_or_the_signature_is_rejected(signer):
    text = signer.sign_checkpoint(ORIGIN, 5, ROOT)
    body_end = text.index("\n\n") + 1
    sig_start = text.rindex(" ") + 1
    rejected = 0
    for position in list(range(body_end)) + list(range(sig_start, len(text) - 1)):
        for bit in (0, 1, 5):
            tampered = text[:position] + chr(ord(text[position]) ^ (1 << bit)) + text[position + 1:]
            if tampered == text:
                continue
            with pytest.raises(CheckpointError):
                parse_checkpoint(tampered, signer.verifier_key, ORIGIN)
            rejected += 1
    assert rejected > 200


def test_a_non_canonical_base64_spelling_of_a_valid_signature_is_rejected(signer):
    text = signer.sign_checkpoint(ORIGIN, 5, ROOT)
    assert text.endswith("=\n")
    last = text[-3]
    twin = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    sibling = twin[twin.index(last) ^ 1]  # same decoded bytes, different unused bits
    tampered = text[:-3] + sibling + text[-2:]
    assert base64.b64decode(tampered.split(" ")[-1]) == base64.b64decode(text.split(" ")[-1])
    with pytest.raises(CheckpointError, match="not valid canonical base64"):
        parse_checkpoint(tampered, signer.verifier_key, ORIGIN)


def test_flipping_a_bit_of_the_raw_signature_reports_a_bad_signature(signer):
    text = signer.sign_checkpoint(ORIGIN, 5, ROOT)
    head, blob = text[:-1].rsplit(" ", 1)
    raw = bytearray(base64.b64decode(blob))
    raw[10] ^= 1
    tampered = head + " " + base64.b64encode(bytes(raw)).decode() + "\n"
    with pytest.raises(CheckpointError, match="does not verify: the note text or signature was altered"):
        parse_checkpoint(tampered, signer.verifier_key, ORIGIN)
    body_changed = text.replace("\n5\n", "\n6\n", 1)
    with pytest.raises(CheckpointError, match="does not verify"):
        parse_checkpoint(body_changed, signer.verifier_key, ORIGIN)


def test_a_checkpoint_without_signatures_is_rejected(signer):
    body = checkpoint_body(ORIGIN, 5, ROOT)
    with pytest.raises(CheckpointError, match="no blank line"):
        parse_checkpoint(body, signer.verifier_key, ORIGIN)
    with pytest.raises(CheckpointError, match="no signature lines"):
        parse_checkpoint(body + "\n", signer.verifier_key, ORIGIN)


@pytest.mark.parametrize("garbage", [
    "", "hello", "\n\n\n", f"{ORIGIN}\n5\n\n— \n", "a\n\nnot a signature line\n",
    f"a\n\n{EM} name !!notbase64!!\n", f"a\n\n{EM} name AAAA\n", "a\n\n" + f"{EM} n QUFBQUFB\n" * 101,
    f"a\x00b\n\n{EM} n QUFBQUFB\n", b"\xff\xfe\n\n",
])
def test_garbage_text_is_rejected_as_malformed(signer, garbage):
    with pytest.raises(CheckpointError):
        parse_checkpoint(garbage, signer.verifier_key, ORIGIN)


@pytest.mark.parametrize("body,message", [
    (f"{ORIGIN}\nfive\nAAAA\n", "tree size 'five' is not a non-negative decimal"),
    (f"{ORIGIN}\n-5\n{base64.b64encode(ROOT).decode()}\n", "tree size '-5' is not"),
    (f"{ORIGIN}\n05\n{base64.b64encode(ROOT).decode()}\n", "tree size '05' is not"),
    (f"{ORIGIN}\n１２\n{base64.b64encode(ROOT).decode()}\n", "tree size '１２' is not"),
    (f"{ORIGIN}\n{1 << 64}\n{base64.b64encode(ROOT).decode()}\n", "is not a non-negative decimal"),
    (f"{ORIGIN}\n5\n{base64.b64encode(ROOT[:31]).decode()}\n", "root hash is 31 bytes, expected 32"),
    (f"{ORIGIN}\n5\nnot base64!\n", "root hash is not valid canonical base64"),
    (f"{ORIGIN}\n5\n", "has 2 body lines"),
])
def test_a_correctly_signed_but_malformed_checkpoint_body_is_rejected(signer, body, message):
    with pytest.raises(CheckpointError, match=message):
        parse_checkpoint(signer.sign_note(body), signer.verifier_key, ORIGIN)


def test_extension_lines_are_kept_and_must_not_be_empty(signer):
    body = checkpoint_body(ORIGIN, 5, ROOT) + "extra line\n"
    assert parse_checkpoint(signer.sign_note(body), signer.verifier_key, ORIGIN).extensions == ("extra line",)
    with pytest.raises(CheckpointError, match="empty extension line"):
        parse_checkpoint(signer.sign_note(body.replace("extra", "\nextra")), signer.verifier_key, ORIGIN)


def test_a_note_signed_twice_by_the_trusted_key_is_rejected(signer):
    text = signer.sign_checkpoint(ORIGIN, 5, ROOT)
    sig_line = text[text.index("\n\n") + 2:]
    with pytest.raises(CheckpointError, match="signed twice"):
        parse_checkpoint(text + sig_line, signer.verifier_key, ORIGIN)


@pytest.mark.parametrize("origin,size,root,message", [
    ("", 1, ROOT, "origin '' must be a non-empty single line"),
    ("a\nb", 1, ROOT, "single line"),
    (ORIGIN, -1, ROOT, "tree size -1 must be an int"),
    (ORIGIN, True, ROOT, "tree size True must be an int"),
    (ORIGIN, 1, ROOT[:31], "root hash must be 32 bytes"),
])
def test_signing_refuses_an_invalid_checkpoint(signer, origin, size, root, message):
    with pytest.raises(CheckpointError, match=message):
        signer.sign_checkpoint(origin, size, root)


def test_checkpoint_errors_are_merkle_errors_and_value_errors():
    assert issubclass(CheckpointError, MerkleError) and issubclass(CheckpointError, ValueError)


# --- key files ------------------------------------------------------------------

def test_a_generated_keypair_is_stored_privately_and_loads_back(tmp_path):
    keys = tmp_path / "keys"
    signer = generate_keypair(keys, ORIGIN)
    private = keys / "checkpoint-signing.key"
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    loaded = load_signer(keys)
    assert loaded.verifier_key == signer.verifier_key == load_verifier_key(keys)
    text = loaded.sign_checkpoint(ORIGIN, 3, ROOT)
    assert parse_checkpoint(text, load_verifier_key(keys), ORIGIN).root_hash == ROOT


def test_generating_a_keypair_never_overwrites_an_existing_signing_key(tmp_path):
    first = generate_keypair(tmp_path, ORIGIN)
    with pytest.raises(CheckpointError, match="already exists; refusing to overwrite"):
        generate_keypair(tmp_path, ORIGIN)
    assert load_signer(tmp_path).verifier_key == first.verifier_key


def test_a_signing_key_readable_by_other_users_is_refused(tmp_path):
    generate_keypair(tmp_path, ORIGIN)
    os.chmod(tmp_path / "checkpoint-signing.key", 0o644)
    with pytest.raises(CheckpointError, match="mode 0644 lets other users read the signing key"):
        load_signer(tmp_path)


def test_a_missing_or_corrupt_signing_key_file_is_reported(tmp_path):
    with pytest.raises(CheckpointError, match="cannot read signing key"):
        load_signer(tmp_path)
    path = tmp_path / "checkpoint-signing.key"
    path.write_text("PRIVATE+KEY+name+00000000+AAAA\n")
    path.chmod(0o600)
    with pytest.raises(CheckpointError, match="not a 0x01-prefixed 32-byte Ed25519 seed"):
        load_signer(tmp_path)


def test_key_names_with_spaces_or_plus_signs_are_refused():
    key = Ed25519PrivateKey.generate()
    for name in ("", "a b", "a+b", "a\u00a0b"):
        with pytest.raises(CheckpointError, match="must be non-empty, without spaces"):
            Signer(name, key)
