"""Signed tree heads as C2SP tlog-checkpoint signed notes (Ed25519).

Formats (https://c2sp.org/signed-note, https://c2sp.org/tlog-checkpoint):

* checkpoint body: ``<origin>\\n<tree size, decimal>\\n<base64 root hash>\\n``
* signed note: body, a blank line, then one ``— <key name> <base64(key id ||
  signature)>\\n`` line per signature (U+2014 em dash, space).
* key id: ``SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4]``.
* verifier key: ``<name>+<hex key id>+<base64(0x01 || public key)>``; the
  private key file uses the matching ``PRIVATE+KEY+<name>+<hex key id>+
  <base64(0x01 || 32-byte seed)>`` encoding, so keys interoperate with the Go
  ``golang.org/x/mod/sumdb/note`` tooling.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from portal.audit.merkle import HASH_SIZE, MerkleError
from portal.core.i18n import _

__all__ = [
    "Checkpoint", "CheckpointError", "Signer", "VerifierKey", "checkpoint_body",
    "generate_keypair", "key_id", "load_signer", "load_verifier_key", "open_note",
    "parse_checkpoint", "parse_verifier_key",
]

ALG_ED25519 = 0x01
EM_DASH = "\u2014"
MAX_SIGNATURES = 100
PRIVATE_KEY_FILE = "checkpoint-signing.key"
VERIFIER_KEY_FILE = "checkpoint-verifier.vkey"
_SIZE_RE = re.compile(r"0|[1-9][0-9]{0,19}")
_CONTROL_RE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


class CheckpointError(MerkleError):
    """A key, note or checkpoint is malformed or does not verify."""


def _check_name(name: object) -> str:
    if (not isinstance(name, str) or not name or "+" in name
            or any(c.isspace() for c in name) or _CONTROL_RE.search(name)):
        raise CheckpointError(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


def _b64decode(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raw = None
    # Only the canonical encoding is accepted (RFC 4648 3.5): the unused bits
    # before '=' padding must not give one value several spellings.
    if raw is None or base64.b64encode(raw).decode("ascii") != text:
        raise CheckpointError(f"{what} is not valid canonical base64: {text[:60]!r}")
    return raw


def key_id(name: str, public_key: bytes) -> bytes:
    """4-byte note key id of an Ed25519 public key."""
    data = _check_name(name).encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key
    return hashlib.sha256(data).digest()[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class VerifierKey:
    """A parsed verifier key (see ``parse_verifier_key``)."""

    name: str
    key_id: bytes
    public_key: Ed25519PublicKey

    def __str__(self) -> str:
        encoded = base64.b64encode(bytes([ALG_ED25519]) + _raw_public(self.public_key)).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"


def parse_verifier_key(vkey: str | VerifierKey) -> VerifierKey:
    """Parse ``<name>+<hex key id>+<base64(0x01 || public key)>``."""
    if isinstance(vkey, VerifierKey):
        return vkey
    parts = vkey.strip().split("+", 2) if isinstance(vkey, str) else []
    if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
        raise CheckpointError(_("verifier key {key} is not of the form name+hexid+base64key").format(
            key=repr(str(vkey)[:80])))
    name, hex_id, encoded = _check_name(parts[0]), parts[1], parts[2]
    raw = _b64decode(encoded, "verifier key")
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise CheckpointError(_("verifier key {name} is not a 0x01-prefixed 32-byte Ed25519 key").format(name=repr(name)))
    if key_id(name, raw[1:]).hex() != hex_id:
        raise CheckpointError(_("verifier key {name}: key id {key_id} does not match the key").format(
            name=repr(name), key_id=hex_id))
    return VerifierKey(name, bytes.fromhex(hex_id), Ed25519PublicKey.from_public_bytes(raw[1:]))


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    """The note text of a checkpoint."""
    if not isinstance(origin, str) or not origin or "\n" in origin or _CONTROL_RE.search(origin):
        raise CheckpointError(f"origin {origin!r} must be a non-empty single line")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size < 1 << 64:
        raise CheckpointError(f"tree size {size!r} must be an int in [0, 2**64)")
    if not isinstance(root, (bytes, bytearray)) or len(root) != HASH_SIZE:
        raise CheckpointError(f"root hash must be {HASH_SIZE} bytes")
    return f"{origin}\n{size}\n{base64.b64encode(bytes(root)).decode()}\n"


class Signer:
    """Signs notes and checkpoints with one Ed25519 key under a key name."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not isinstance(private_key, Ed25519PrivateKey):
            raise TypeError(f"private_key must be an Ed25519PrivateKey, got {type(private_key).__name__}")
        self.name = _check_name(name)
        self._private_key = private_key
        self.public_key_bytes = _raw_public(private_key.public_key())
        self.key_id = key_id(name, self.public_key_bytes)

    @property
    def verifier_key(self) -> str:
        return str(VerifierKey(self.name, self.key_id, self._private_key.public_key()))

    @classmethod
    def from_private_key_string(cls, skey: str) -> "Signer":
        """Load ``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>``."""
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise CheckpointError("private key is not of the form PRIVATE+KEY+name+hexid+base64key")
        raw = _b64decode(parts[4], "private key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise CheckpointError("private key is not a 0x01-prefixed 32-byte Ed25519 seed")
        signer = cls(parts[2], Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.key_id.hex() != parts[3]:
            raise CheckpointError(f"private key {parts[2]!r}: key id {parts[3]} does not match the key")
        return signer

    def private_key_string(self) -> str:
        seed = self._private_key.private_bytes(serialization.Encoding.Raw,
                                               serialization.PrivateFormat.Raw,
                                               serialization.NoEncryption())
        encoded = base64.b64encode(bytes([ALG_ED25519]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{encoded}"

    def sign_note(self, text: str) -> str:
        """Signed note of ``text`` (which must end with a newline)."""
        if not text.endswith("\n") or _CONTROL_RE.search(text):
            raise CheckpointError("note text must end with a newline and hold no control characters")
        signature = self._private_key.sign(text.encode("utf-8"))
        blob = base64.b64encode(self.key_id + signature).decode()
        return f"{text}\n{EM_DASH} {self.name} {blob}\n"

    def sign_checkpoint(self, origin: str, size: int, root: bytes) -> str:
        return self.sign_note(checkpoint_body(origin, size, root))


def generate_keypair(directory: str | os.PathLike, name: str) -> Signer:
    """Create a new key in ``directory`` (private key file mode 0600, never
    overwritten) plus a world-readable verifier key file."""
    signer = Signer(name, Ed25519PrivateKey.generate())
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, PRIVATE_KEY_FILE)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CheckpointError(f"{path}: already exists; refusing to overwrite a signing key") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(signer.private_key_string() + "\n")
    with open(os.path.join(directory, VERIFIER_KEY_FILE), "w", encoding="utf-8") as fh:
        fh.write(signer.verifier_key + "\n")
    return signer


def load_signer(directory: str | os.PathLike) -> Signer:
    """Load the signing key written by ``generate_keypair``."""
    path = os.path.join(directory, PRIVATE_KEY_FILE)
    try:
        mode = os.stat(path).st_mode & 0o777
        if mode & 0o077:
            raise CheckpointError(f"{path}: mode {mode:04o} lets other users read the signing key; expected 0600")
        with open(path, encoding="ascii") as fh:
            return Signer.from_private_key_string(fh.read())
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: cannot read signing key: {exc}") from None


def load_verifier_key(directory: str | os.PathLike) -> str:
    """The verifier key string written by ``generate_keypair``."""
    path = os.path.join(directory, VERIFIER_KEY_FILE)
    with open(path, encoding="utf-8") as fh:
        return str(parse_verifier_key(fh.read()))


def open_note(note: str | bytes, verifier_key: str | VerifierKey) -> str:
    """Verify a signed note against one trusted key; return its text.

    Signatures by other keys are ignored; a bad signature by the trusted key
    rejects the note, and so does the lack of any signature by it.
    """
    vk = parse_verifier_key(verifier_key)
    if isinstance(note, (bytes, bytearray)):
        try:
            note = bytes(note).decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointError(_("malformed note: not valid UTF-8")) from None
    if not isinstance(note, str):
        raise CheckpointError(f"malformed note: expected text, got {type(note).__name__}")
    if bad := _CONTROL_RE.search(note):
        raise CheckpointError(_("malformed note: control character {character}").format(
            character=f"U+{ord(bad.group()):04X}"))
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError(_("malformed note: no blank line between text and signatures"))
    text, block = note[:split + 1], note[split + 2:]
    if not block.endswith("\n"):
        raise CheckpointError(_("malformed note: no signature lines, or the last one lacks a newline"))
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(_("malformed note: {n} signatures (limit {limit})").format(n=len(lines),
                                                                                        limit=MAX_SIGNATURES))
    verified = False
    for number, line in enumerate(lines, 1):
        fields = line.split(" ")
        if len(fields) != 3 or fields[0] != EM_DASH or not fields[1] or not fields[2]:
            raise CheckpointError(_("malformed note: signature line {number} is not '{form}'").format(
                number=number, form=f"{EM_DASH} <name> <base64>"))
        blob = _b64decode(fields[2], f"signature line {number}")
        if len(blob) < 5:
            raise CheckpointError(_("malformed note: signature line {number} is too short").format(number=number))
        if fields[1] != vk.name or blob[:4] != vk.key_id:
            continue  # another key: ignored, as signed-note requires
        if verified:
            raise CheckpointError(_("note is signed twice by key {name}").format(name=vk.name))
        try:
            vk.public_key.verify(blob[4:], text.encode("utf-8"))
        except InvalidSignature:
            raise CheckpointError(_("signature by key {name} does not verify: the note text or signature was "
                                    "altered").format(name=vk.name)) from None
        verified = True
    if not verified:
        seen = ", ".join(line.split(" ")[1] for line in lines)
        raise CheckpointError(_("note has no signature by key {name} ({key_id}); signed by: {seen}").format(
            name=vk.name, key_id=vk.key_id.hex(), seen=seen))
    return text


@dataclass(frozen=True)
class Checkpoint:
    """A verified checkpoint; ``text`` is the full signed note."""

    origin: str
    size: int
    root_hash: bytes
    text: str
    extensions: tuple[str, ...] = ()


def parse_checkpoint(text: str | bytes, verifier_key: str | VerifierKey, expected_origin: str) -> Checkpoint:
    """Verify and parse a signed checkpoint; raise CheckpointError on any defect."""
    body = open_note(text, verifier_key)
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError(_("checkpoint has {n} body lines, expected origin, size and root hash").format(
            n=len(lines)))
    origin, size_text, root_text, *extensions = lines
    if origin != expected_origin:
        raise CheckpointError(_("checkpoint is for origin {origin}, expected {expected}").format(
            origin=repr(origin), expected=repr(expected_origin)))
    if not _SIZE_RE.fullmatch(size_text) or int(size_text) >= 1 << 64:
        raise CheckpointError(_("tree size {size} is not a non-negative decimal without leading zeros").format(
            size=repr(size_text)))
    root = _b64decode(root_text, "root hash")
    if len(root) != HASH_SIZE:
        raise CheckpointError(_("root hash is {n} bytes, expected {expected}").format(n=len(root),
                                                                                     expected=HASH_SIZE))
    if "" in extensions:
        raise CheckpointError(_("checkpoint has an empty extension line"))
    return Checkpoint(origin, int(size_text), root, text if isinstance(text, str) else bytes(text).decode(), tuple(extensions))
