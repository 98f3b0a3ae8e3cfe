"""``revloop ledger verify|show|checkpoint|prove``: the ledger as proof, from the command line.

Register with ``app.add_typer(ledger_app, name="ledger")`` in revloop/cli.py (``from
revloop.commands.ledger import app as ledger_app``). Locally, checkpoints are files under
``<data dir>/checkpoints`` and the signing key is ``<data dir>/secrets/ledger-checkpoint.pem``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.checkpoints import CheckpointError, LocalCheckpointStore, SignedCheckpoint, latest
from ledger.note import NoteError, parse_verifier_key, verifier_key
from ledger.proofs import prove, take_checkpoint, verify_against_checkpoint
from ledger.signers import Ed25519KeyFileSigner, SignerError
from ledger.store import Ledger
from ledger.verify import LedgerVerificationError
from revloop.settings import Settings, load_settings

app = typer.Typer(help="Inspect, checkpoint, prove and verify the tamper-evident ledger.",
                  no_args_is_help=True)


def _settings() -> Settings:
    settings = load_settings()
    settings.paths.ensure()
    return settings


def _ledger(settings: Settings) -> Ledger:
    from revloop.wiring import open_ledger

    return open_ledger(settings)


def checkpoint_dir(settings: Settings) -> Path:
    return settings.paths.root / "checkpoints"


def signing_key_path(settings: Settings) -> Path:
    return settings.paths.secrets / "ledger-checkpoint.pem"


def _public_key(settings: Settings, vkey: str | None) -> Ed25519PublicKey:
    if vkey:
        return parse_verifier_key(vkey)[1]
    return Ed25519KeyFileSigner(signing_key_path(settings)).public_key()


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


@app.command("verify")
def verify(
    tenant: Annotated[str | None, typer.Option(help="Verify one tenant only.")] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        help="A checkpoint note file to verify against (default: each tenant's newest stored one).",
        exists=True, dir_okay=False)] = None,
    verifier: Annotated[str | None, typer.Option(
        "--verifier-key", help="name+keyid+base64 key that signed the checkpoints (default: local key).")
    ] = None,
) -> None:
    """Recompute every entry's digest and hash link, then check each tenant against its signed
    checkpoint (root at the checkpoint's size, consistency to the head). Exits 1 naming the first bad
    entry."""
    settings = _settings()
    ledger = _ledger(settings)
    try:
        report = ledger.verify(tenant)
        for name, count in report.entries_by_tenant.items():
            typer.echo(f"{name}: {count} entries verified")
        notes: list[str] = []
        if checkpoint is not None:
            notes = [checkpoint.read_text(encoding="utf-8")]
        else:
            store = LocalCheckpointStore(checkpoint_dir(settings))
            notes = [held.note for name in report.entries_by_tenant
                     if (held := latest(store, name)) is not None]
        if notes:
            public_key = _public_key(settings, verifier)
        for note in notes:
            result = verify_against_checkpoint(ledger, note, public_key)
            typer.echo(f"{result.tenant}: checkpoint of {result.checkpoint_size} entries holds; head "
                       f"{result.size} is consistent with it")
    except LedgerVerificationError as exc:
        raise _fail(f"LEDGER INVALID: {exc}") from exc
    except (CheckpointError, NoteError, SignerError) as exc:
        raise _fail(f"CHECKPOINT INVALID: {exc}") from exc
    typer.echo(f"ledger OK: {report.total} entries, {len(notes)} checkpoints")


@app.command("show")
def show(
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    last: Annotated[int, typer.Option(help="How many of the newest entries.")] = 20,
) -> None:
    """Print a tenant's newest ledger entries."""
    for entry in _ledger(_settings()).entries(tenant)[-last:]:
        typer.echo(f"{entry.seq:>6} {entry.recorded_at} {entry.kind:<18} {entry.actor:<24} "
                   f"{entry.entry_hash[:16]}")


@app.command("checkpoint")
def checkpoint(
    tenant: Annotated[str | None, typer.Option(help="Checkpoint one tenant only.")] = None,
) -> None:
    """Sign each tenant's current head (tree size + Merkle root) and write it outside the database."""
    settings = _settings()
    ledger = _ledger(settings)
    signer = Ed25519KeyFileSigner(signing_key_path(settings))
    store = LocalCheckpointStore(checkpoint_dir(settings))
    try:
        for name in [tenant] if tenant else ledger.tenants():
            signed, where = take_checkpoint(ledger, name, signer, store)
            state = f"written to {where}" if where else "unchanged since the last checkpoint"
            typer.echo(f"{name}: {signed.size} entries, root {signed.checkpoint.root.hex()[:16]}, {state}")
    except LedgerVerificationError as exc:
        raise _fail(f"LEDGER INVALID, not checkpointed: {exc}") from exc
    typer.echo(f"verifier key: {verifier_key(signer.name, signer.public_key())}")


@app.command("prove")
def prove_entry(
    entry: Annotated[str, typer.Argument(help="tenant:seq, or an entry hash (64 hex characters).")],
) -> None:
    """Print an inclusion proof bundle (JSON) for one entry against its tenant's newest checkpoint."""
    settings = _settings()
    ledger = _ledger(settings)
    tenant, seq = _resolve(ledger, entry)
    held = latest(LocalCheckpointStore(checkpoint_dir(settings)), tenant)
    if held is None or held.size < seq:
        raise _fail(f"no checkpoint of tenant {tenant} covers entry {seq} yet; run "
                    "`revloop ledger checkpoint` first", 2)
    try:
        bundle = prove(ledger, tenant, seq, SignedCheckpoint.parse(held.note))
    except LedgerVerificationError as exc:
        raise _fail(f"LEDGER INVALID: {exc}") from exc
    typer.echo(json.dumps(bundle, indent=2))


def _resolve(ledger: Ledger, entry: str) -> tuple[str, int]:
    tenant, sep, seq_text = entry.rpartition(":")
    if sep and seq_text.isdigit():
        return tenant, int(seq_text)
    found = ledger.locate(entry) if len(entry) == 64 else None
    if found is None:
        raise _fail(f"{entry!r} is neither tenant:seq nor the hash of an entry in the ledger", 2)
    return found
