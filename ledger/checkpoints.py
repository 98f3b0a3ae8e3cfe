"""Signed checkpoints of each tenant's Merkle tree, kept outside the database.

A checkpoint is a C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint) inside a signed note:

    revloop/ledger/<tenant>                  origin: one log per tenant
    <tree size>                              entries covered, seq 1..size
    <base64 root hash>                       RFC 9162 root over the entries' hashes
    time <RFC 3339 UTC>                      when it was taken
    subtrees <base64> <base64> ...           the compact range: perfect subtree roots, left to right

    — <key name> <base64(key id || Ed25519 signature)>

The subtree line lets a verifier narrow a mismatch to one perfect subtree even when the tail was
rewritten with every hash recomputed. Stores are write-once: a checkpoint is never replaced."""

from __future__ import annotations

import base64
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.merkle import EMPTY_ROOT, HASH_SIZE, compact_range, node_hash
from ledger.note import NoteError, Signer, open_note, sign_note, split_note

ORIGIN_PREFIX = "revloop/ledger/"
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class CheckpointError(ValueError):
    """A checkpoint is malformed, unsigned by the expected key, or already written differently."""


class CheckpointExistsError(CheckpointError):
    """A store already holds a checkpoint for this tenant and size; it is never overwritten."""


def check_tenant(tenant: str) -> None:
    if not _TENANT.match(tenant):
        raise CheckpointError(f"tenant {tenant!r} cannot name a checkpoint log: use letters, digits, "
                              "'.', '_' or '-', starting with a letter or digit")


@dataclass(frozen=True)
class Checkpoint:
    tenant: str
    size: int
    root: bytes
    time: datetime
    subtrees: tuple[bytes, ...]

    def __post_init__(self) -> None:
        check_tenant(self.tenant)
        if self.size < 0 or len(self.root) != HASH_SIZE:
            raise CheckpointError("a checkpoint needs a size >= 0 and a 32-byte root")
        if len(self.subtrees) != len(compact_range(self.size)):
            raise CheckpointError(f"a tree of size {self.size} has {len(compact_range(self.size))} "
                                  f"perfect subtrees, the checkpoint lists {len(self.subtrees)}")
        if fold_subtrees(self.subtrees) != self.root:
            raise CheckpointError("the checkpoint's subtrees do not hash to its root")

    def body(self) -> str:
        subtrees = "".join(" " + base64.b64encode(s).decode() for s in self.subtrees)
        stamp = self.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return (f"{ORIGIN_PREFIX}{self.tenant}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"
                f"time {stamp}\nsubtrees{subtrees}\n")

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        lines = body.split("\n")
        try:
            origin, size_text, root_text, time_line, subtree_line, last = lines
            if last or not origin.startswith(ORIGIN_PREFIX) or not size_text.isdigit():
                raise ValueError("unexpected lines")
            time_word, stamp = time_line.split(" ", 1)
            subtree_word, *encoded = subtree_line.split(" ")
            if time_word != "time" or subtree_word != "subtrees":
                raise ValueError("missing time or subtrees line")
            return cls(tenant=origin[len(ORIGIN_PREFIX):], size=int(size_text),
                       root=base64.b64decode(root_text, validate=True),
                       time=datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC),
                       subtrees=tuple(base64.b64decode(e, validate=True) for e in encoded))
        except ValueError as exc:
            raise CheckpointError(f"not a revloop ledger checkpoint: {exc}") from exc


def fold_subtrees(subtrees: tuple[bytes, ...]) -> bytes:
    """The root of a tree from its compact range (the largest subtree is the leftmost)."""
    if not subtrees:
        return EMPTY_ROOT
    acc = subtrees[-1]
    for subtree in reversed(subtrees[:-1]):
        acc = node_hash(subtree, acc)
    return acc


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    note: str  # the exact signed text, as stored

    @property
    def tenant(self) -> str:
        return self.checkpoint.tenant

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @classmethod
    def sign(cls, checkpoint: Checkpoint, signer: Signer) -> SignedCheckpoint:
        return cls(checkpoint, sign_note(checkpoint.body(), signer))

    @classmethod
    def parse(cls, note: str) -> SignedCheckpoint:
        """Parse without checking the signature (use ``open`` to check it)."""
        try:
            body, _ = split_note(note)
        except NoteError as exc:
            raise CheckpointError(str(exc)) from exc
        return cls(Checkpoint.parse(body), note)

    @classmethod
    def open(cls, note: str, public_key: Ed25519PublicKey) -> SignedCheckpoint:
        """Parse and require a valid signature by ``public_key``."""
        try:
            body, _ = open_note(note, public_key)
        except NoteError as exc:
            raise CheckpointError(f"checkpoint signature: {exc}") from exc
        return cls(Checkpoint.parse(body), note)


class CheckpointStore(Protocol):
    """Where checkpoints live, outside the ledger's database. Writes are once-only per (tenant, size)."""

    def put(self, signed: SignedCheckpoint) -> str:
        """Write the note; returns where. Raises CheckpointExistsError if that size is already held."""
        ...

    def get(self, tenant: str, size: int) -> str | None: ...

    def sizes(self, tenant: str) -> list[int]: ...


def latest(store: CheckpointStore, tenant: str) -> SignedCheckpoint | None:
    sizes = store.sizes(tenant)
    note = store.get(tenant, max(sizes)) if sizes else None
    return SignedCheckpoint.parse(note) if note else None


def checkpoint_name(tenant: str, size: int) -> str:
    check_tenant(tenant)
    return f"{tenant}/{size:020d}.note"


class LocalCheckpointStore:
    """Write-once files under a directory: ``<root>/<tenant>/<size, 20 digits>.note``, mode 0444."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, signed: SignedCheckpoint) -> str:
        path = self.root / checkpoint_name(signed.tenant, signed.size)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                out.write(signed.note)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o444)
            try:
                os.link(tmp, path)  # atomic and refuses an existing name, unlike rename
            except FileExistsError as exc:
                raise CheckpointExistsError(f"{path} already exists; checkpoints are never "
                                            "overwritten") from exc
        finally:
            os.unlink(tmp)
        return str(path)

    def get(self, tenant: str, size: int) -> str | None:
        path = self.root / checkpoint_name(tenant, size)
        return path.read_text(encoding="utf-8") if path.exists() else None

    def sizes(self, tenant: str) -> list[int]:
        check_tenant(tenant)
        folder = self.root / tenant
        if not folder.is_dir():
            return []
        return sorted(int(p.stem) for p in folder.glob("*.note") if p.stem.isdigit())
