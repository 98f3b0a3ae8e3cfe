"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 signatures.

    <body: UTF-8 lines, each ending in a newline>
    <one empty line>
    — <key name> <base64(key id (4 bytes) || Ed25519 signature over the body)>

The key id is the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || 32-byte public key); a verifier key
is written ``<name>+<key id hex>+<base64(0x01 || public key)>``."""

from __future__ import annotations

import base64
import hashlib
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519_ALGORITHM = b"\x01"
SIGNATURE_PREFIX = "\u2014 "  # em dash, space


class NoteError(ValueError):
    """A signed note is malformed or carries no valid signature by the expected key."""


class Signer(Protocol):
    """Signs checkpoint notes with an Ed25519 key it may never reveal."""

    @property
    def name(self) -> str: ...

    def public_key(self) -> Ed25519PublicKey: ...

    def sign(self, message: bytes) -> bytes: ...


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519_ALGORITHM + raw_public_key(public_key)).digest()[:4]


def check_key_name(name: str) -> None:
    if not name or "+" in name or any(c.isspace() for c in name) or not name.isprintable():
        raise NoteError(f"key name {name!r} must be non-empty, printable, without spaces or '+'")


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    encoded = base64.b64encode(ED25519_ALGORITHM + raw_public_key(public_key)).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


def parse_verifier_key(vkey: str) -> tuple[str, Ed25519PublicKey]:
    """``name+keyid+base64`` -> (name, public key); raises NoteError if the parts disagree."""
    try:
        name, hex_id, encoded = vkey.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise NoteError(f"verifier key is not name+keyid+base64: {exc}") from exc
    if len(raw) != 33 or raw[:1] != ED25519_ALGORITHM:
        raise NoteError("verifier key is not an Ed25519 key (want 0x01 and 32 bytes)")
    public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
    if key_id(name, public_key).hex() != hex_id.lower():
        raise NoteError(f"verifier key id {hex_id} does not match its name and key")
    return name, public_key


def sign_note(body: str, signer: Signer) -> str:
    if not body.endswith("\n") or "\n\n" in body:
        raise NoteError("a note body must end with a newline and contain no empty line")
    check_key_name(signer.name)
    signature = signer.sign(body.encode())
    blob = key_id(signer.name, signer.public_key()) + signature
    return f"{body}\n{SIGNATURE_PREFIX}{signer.name} {base64.b64encode(blob).decode()}\n"


def split_note(text: str) -> tuple[str, list[tuple[str, bytes]]]:
    """(body, [(key name, key id + signature)]) without checking any signature."""
    body, sep, signatures = text.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise NoteError("not a signed note: no empty line before the signatures, or no final newline")
    parsed = []
    for line in signatures[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError(f"signature line does not start with an em dash: {line[:40]!r}")
        name, _, encoded = line[len(SIGNATURE_PREFIX):].rpartition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except ValueError as exc:
            raise NoteError(f"signature of {name!r} is not base64") from exc
        if len(blob) != 4 + 64:
            raise NoteError(f"signature of {name!r} is {len(blob)} bytes; Ed25519 notes carry 4 + 64")
        parsed.append((name, blob))
    return body + "\n", parsed


def open_note(text: str, public_key: Ed25519PublicKey) -> tuple[str, str]:
    """Return (body, key name) if a signature line verifies under ``public_key``; else raise NoteError."""
    body, signatures = split_note(text)
    for name, blob in signatures:
        if blob[:4] != key_id(name, public_key):
            continue
        try:
            public_key.verify(blob[4:], body.encode())
        except InvalidSignature as exc:
            raise NoteError(f"the signature by {name!r} does not verify: the note was altered") from exc
        return body, name
    raise NoteError("no signature on the note is by the given public key (key id mismatch)")
