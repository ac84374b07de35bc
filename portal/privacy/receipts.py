"""Signed receipts: what carrying out a privacy request did, verifiable by anyone.

A receipt is one JSON object (fields :data:`REQUIRED_FIELDS`) with a
``signature`` member::

    "signature": {"algorithm": "Ed25519", "public_key": "<verifier key>", "value": "<base64 signature>"}

The signature is Ed25519 over the *canonical encoding*: the receipt without its
``signature`` member, serialised as JSON with keys sorted, no insignificant
whitespace (separators ``,`` and ``:``), every non-ASCII character escaped as
``\\uXXXX``, followed by one newline (``\\n``), encoded as UTF-8. Receipts hold
no floating-point numbers, so this encoding is unambiguous. The public key is a
verifier key in the signed-note format of :mod:`portal.audit.checkpoint`
(``<name>+<hex key id>+<base64(0x01 || 32-byte key)>``), the same format as the
access log's checkpoint keys, so one tool set checks both.

The signing key lives in ``<data dir>/keys/receipts`` (private key mode 0600),
created on first use. ``portal receipt verify FILE [--key KEY]`` checks a receipt.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from sqlalchemy.engine import Connection, Engine

from portal.audit import checkpoint
from portal.core import db, i18n, json_input
from portal.core.i18n import _
from portal.identity.principal import Principal
from portal.identity.policy import ensure

FORMAT = "telemetry-portal-receipt/1"
ISSUER = "Telemetry transparency portal"
KEY_NAME = "telemetry-portal-receipts"
ALGORITHM = "Ed25519"
REQUIRED_FIELDS = ("format", "request_id", "kind", "scope", "stores", "verification", "datasets_flagged",
                   "models_affected", "times", "issuer", "signature")
SIGNATURE_FIELDS = ("algorithm", "public_key", "value")
MAX_RECEIPT_BYTES = 4 * 1024 * 1024


class ReceiptError(ValueError):
    """A receipt that is not intact; the message says what failed."""


@dataclass(frozen=True)
class Receipt:
    document: dict[str, Any]  # including the signature

    @property
    def request_id(self) -> str:
        return self.document["request_id"]

    @property
    def issued_at(self) -> str:
        """When the receipt was signed, as it states it (ISO 8601, UTC)."""
        return self.document["times"]["issued_at"]

    @property
    def public_key(self) -> str:
        return self.document["signature"]["public_key"]

    @property
    def text(self) -> str:
        """The receipt as a readable file; any JSON layout of it verifies."""
        return json.dumps(self.document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def file_name(self) -> str:
        return f"receipt-{self.request_id}.json"


def canonical_bytes(body: dict[str, Any]) -> bytes:
    """The bytes that are signed: ``body`` without ``signature``, canonical JSON, one newline."""
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    _no_floats(unsigned, "receipt")
    return (json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n").encode("utf-8")


def _no_floats(value: Any, where: str) -> None:
    if isinstance(value, float):
        raise ReceiptError(_("{where} holds a floating-point number; receipts use whole numbers and strings "
                             "only").format(where=where))
    if isinstance(value, dict):
        for key, item in value.items():
            _no_floats(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _no_floats(item, f"{where}[{i}]")


# ---- the key ------------------------------------------------------------------------


def key_dir(data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / "keys" / "receipts"


def signer(data_dir: str | os.PathLike) -> checkpoint.Signer:
    """The receipt signing key of this data directory, created (mode 0600) on first use."""
    directory = key_dir(data_dir)
    if not (directory / checkpoint.PRIVATE_KEY_FILE).exists():
        try:
            return checkpoint.generate_keypair(directory, KEY_NAME)
        except checkpoint.CheckpointError:
            pass  # another process created it meanwhile
    return checkpoint.load_signer(directory)


def verifier_key(data_dir: str | os.PathLike) -> str:
    """The public key to check this data directory's receipts with (``--key``)."""
    return signer(data_dir).verifier_key


def pinned_key(data_dir: str | os.PathLike) -> str | None:
    """This data directory's receipt verifier key if it has signed any receipt yet (never creates one)."""
    path = key_dir(data_dir) / checkpoint.VERIFIER_KEY_FILE
    if not path.is_file():
        return None
    try:
        return checkpoint.load_verifier_key(key_dir(data_dir))
    except (OSError, UnicodeDecodeError, checkpoint.CheckpointError) as exc:
        raise ReceiptError(_("this portal's receipt key {path} is unreadable: {problem}").format(
            path=path, problem=exc)) from None


# ---- signing and checking ------------------------------------------------------------


def sign(body: dict[str, Any], key: checkpoint.Signer) -> Receipt:
    """Sign ``body`` (every field but ``signature``) and return the receipt."""
    missing = [f for f in REQUIRED_FIELDS if f != "signature" and f not in body]
    if missing:
        raise ReceiptError(_("a receipt needs the field(s) {fields}").format(fields=", ".join(missing)))
    message = canonical_bytes(body)
    # A signed note over the canonical text is an Ed25519 signature over exactly those bytes.
    note = key.sign_note(message.decode("ascii"))
    blob = base64.b64decode(note.rstrip("\n").rsplit(" ", 1)[1])
    signature = {"algorithm": ALGORITHM, "public_key": key.verifier_key,
                 "value": base64.b64encode(blob[4:]).decode("ascii")}
    return Receipt({**{k: v for k, v in body.items() if k != "signature"}, "signature": signature})


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _value in pairs]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ReceiptError(_("the receipt names the field(s) {fields} more than once").format(fields=", ".join(dupes)))
    return dict(pairs)


def parse(text: str | bytes) -> dict[str, Any]:
    """The receipt as a dict, or :class:`ReceiptError` saying why it is not one.

    JSON nested deeper than :data:`portal.core.json_input.MAX_DEPTH` raises
    :class:`portal.core.json_input.JsonTooDeep` instead: such a file is unusable input, not a damaged receipt.
    """
    if isinstance(text, bytes):
        if len(text) > MAX_RECEIPT_BYTES:
            raise ReceiptError(_("the file is {n} bytes; a receipt is at most {limit}").format(
                n=i18n.number(len(text)), limit=i18n.number(MAX_RECEIPT_BYTES)))
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ReceiptError(_("the receipt is not UTF-8 text (byte {position})").format(position=exc.start)) from None
    try:
        document = json_input.loads(text, object_pairs_hook=_unique_keys)
    except json_input.NotJson as exc:
        raise ReceiptError(_("the receipt is not valid JSON: {reason}").format(reason=exc.reason)) from None
    if not isinstance(document, dict):
        raise ReceiptError(_("the receipt is not a JSON object"))
    missing = [f for f in REQUIRED_FIELDS if f not in document]
    if missing:
        raise ReceiptError(_("the receipt lacks the field(s) {fields}").format(fields=", ".join(missing)))
    signature = document["signature"]
    if not isinstance(signature, dict):
        raise ReceiptError(_("the receipt's signature is not an object"))
    missing = [f for f in SIGNATURE_FIELDS if not isinstance(signature.get(f), str)]
    if missing:
        raise ReceiptError(_("the receipt's signature lacks the field(s) {fields}").format(fields=", ".join(missing)))
    if document["format"] != FORMAT:
        raise ReceiptError(_("unknown receipt format {found}; expected {expected}").format(
            found=repr(document["format"]), expected=repr(FORMAT)))
    return document


def verify(text: str | bytes, expected_key: str | None = None) -> Receipt:
    """The receipt if it is intact (and signed by ``expected_key`` when given); :class:`ReceiptError` otherwise."""
    document = parse(text)
    signature = document["signature"]
    if signature["algorithm"] != ALGORITHM:
        raise ReceiptError(_("unknown signature algorithm {found}; expected {expected}").format(
            found=repr(signature["algorithm"]), expected=ALGORITHM))
    try:
        embedded = checkpoint.parse_verifier_key(signature["public_key"])
    except checkpoint.CheckpointError as exc:
        raise ReceiptError(_("the receipt's public key is unusable: {problem}").format(problem=exc)) from None
    if expected_key is not None:
        try:
            expected = checkpoint.parse_verifier_key(expected_key)
        except checkpoint.CheckpointError as exc:
            raise ReceiptError(_("the expected key is unusable: {problem}").format(problem=exc)) from None
        if str(expected) != str(embedded):
            raise ReceiptError(_("the receipt was signed with a foreign key ({found}), not the expected {expected}").format(
                found=f"{embedded.name}+{embedded.key_id.hex()}", expected=f"{expected.name}+{expected.key_id.hex()}"))
    try:
        value = base64.b64decode(signature["value"].encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ReceiptError(_("the receipt's signature value is not base64")) from None
    try:
        message = canonical_bytes(document)
    except ReceiptError as exc:
        raise ReceiptError(_("the receipt is not in canonical form: {problem}").format(problem=exc)) from None
    try:
        embedded.public_key.verify(value, message)
    except InvalidSignature:
        raise ReceiptError(_("the signature does not match the receipt's contents: it was changed after "
                             "signing")) from None
    return Receipt(document)


# ---- stored receipts ------------------------------------------------------------------


def store(conn: Connection, receipt: Receipt, issued_at: datetime) -> None:
    """Keep the receipt with its request (once; a second call for the same request keeps the first)."""
    r = db.receipts.c
    if conn.execute(sa.select(r.request_id).where(r.request_id == receipt.request_id)).first() is None:
        conn.execute(sa.insert(db.receipts).values(request_id=receipt.request_id, issued_at=issued_at,
                                                   document=receipt.text))


def load(conn: Connection, request_id: str) -> Receipt | None:
    text = conn.execute(sa.select(db.receipts.c.document).where(db.receipts.c.request_id == request_id)).scalar()
    return None if text is None else Receipt(parse(text))


def for_request(engine: Engine, principal: Principal, request_id: str) -> Receipt | None:
    """The receipt of a request, for the person it is about or the privacy office."""
    with engine.connect() as conn:
        owner = conn.execute(sa.select(db.privacy_requests.c.employee_id)
                             .where(db.privacy_requests.c.request_id == request_id)).scalar()
        if owner is None or owner != principal.employee_id:
            ensure(principal, "requests:read_all")
        return load(conn, request_id)
