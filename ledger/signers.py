"""Adapters of the checkpoint ``Signer`` port: an Ed25519 key file, and an AWS KMS Ed25519 key.

The key file is created on first use with mode 0600 (exclusive create, so two processes cannot race to
two different keys) and refused if anyone but the owner can read it. Neither adapter ever prints or logs
private key material; their ``repr`` names only where the key lives."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_der_public_key,
    load_pem_private_key,
)

from ledger.note import check_key_name

DEFAULT_KEY_NAME = "revloop-ledger"
KMS_KEY_SPEC = "ECC_NIST_EDWARDS25519"
KMS_SIGNING_ALGORITHM = "ED25519_SHA_512"  # pure Ed25519 (RFC 8032) over the raw message


class SignerError(RuntimeError):
    """The signing key cannot be used as configured."""


class Ed25519KeyFileSigner:
    def __init__(self, path: Path, name: str = DEFAULT_KEY_NAME) -> None:
        check_key_name(name)
        self.path = path
        self._name = name
        self._key = self._load_or_create(path)

    def __repr__(self) -> str:
        return f"Ed25519KeyFileSigner(path={str(self.path)!r}, name={self._name!r})"

    @property
    def name(self) -> str:
        return self._name

    def public_key(self) -> Ed25519PublicKey:
        return self._key.public_key()

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    @staticmethod
    def _load_or_create(path: Path) -> Ed25519PrivateKey:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return Ed25519KeyFileSigner._load(path)
        key = Ed25519PrivateKey.generate()
        with os.fdopen(fd, "wb") as out:
            out.write(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
            out.flush()
            os.fsync(out.fileno())
        return key

    @staticmethod
    def _load(path: Path) -> Ed25519PrivateKey:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise SignerError(f"checkpoint signing key {path} is readable by others (mode {mode:o}); "
                              f"run `chmod 600 {path}` and rotate the key if it may have leaked")
        try:
            key = load_pem_private_key(path.read_bytes(), password=None)
        except ValueError as exc:
            raise SignerError(f"checkpoint signing key {path} is not an unencrypted PEM key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise SignerError(f"checkpoint signing key {path} is not an Ed25519 key")
        return key


class KmsSigner:
    """Signs with an AWS KMS key of spec ECC_NIST_EDWARDS25519; ``client`` is a boto3 KMS client."""

    def __init__(self, client: Any, key_id: str, name: str = DEFAULT_KEY_NAME) -> None:
        check_key_name(name)
        self._client = client
        self.key_id = key_id
        self._name = name
        self._public_key: Ed25519PublicKey | None = None

    def __repr__(self) -> str:
        return f"KmsSigner(key_id={self.key_id!r}, name={self._name!r})"

    @property
    def name(self) -> str:
        return self._name

    def public_key(self) -> Ed25519PublicKey:
        if self._public_key is None:
            answer = self._client.get_public_key(KeyId=self.key_id)
            if answer.get("KeySpec") != KMS_KEY_SPEC:
                raise SignerError(f"KMS key {self.key_id} has spec {answer.get('KeySpec')}; checkpoints "
                                  f"need an asymmetric SIGN_VERIFY key of spec {KMS_KEY_SPEC}")
            key = load_der_public_key(answer["PublicKey"])
            if not isinstance(key, Ed25519PublicKey):
                raise SignerError(f"KMS key {self.key_id} did not return an Ed25519 public key")
            self._public_key = key
        return self._public_key

    def sign(self, message: bytes) -> bytes:
        answer = self._client.sign(KeyId=self.key_id, Message=message, MessageType="RAW",
                                   SigningAlgorithm=KMS_SIGNING_ALGORITHM)
        signature = bytes(answer["Signature"])
        try:  # a checkpoint nobody can verify is worse than none: check before it is written
            self.public_key().verify(signature, message)
        except InvalidSignature as exc:
            raise SignerError(f"KMS key {self.key_id} returned a signature that does not verify") from exc
        return signature
