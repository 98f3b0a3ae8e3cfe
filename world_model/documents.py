"""What of a pipeline record becomes a semantic-memory document."""

from __future__ import annotations

from perception.contracts import Evidence, Signal
from world_model.contracts import MemoryDocument

KEY_EVIDENCE = 5


def _evidence_line(evidence: Evidence) -> str:
    field = f".{evidence.field}" if evidence.field else ""
    line = f"{evidence.object} {evidence.entity_id}{field}: {evidence.before!r} -> {evidence.after!r}"
    return f"{line} ({evidence.note})" if evidence.note else line


def signal_document(signal: Signal) -> MemoryDocument:
    """The signal's narrative plus its first few evidence lines, cited by the signal id."""
    lines = [signal.narrative, *(_evidence_line(e) for e in signal.evidence[:KEY_EVIDENCE])]
    return MemoryDocument(
        doc_id=signal.signal_id,
        tenant=signal.tenant,
        account_id=signal.account_id,
        source="signal",
        text="\n".join(lines),
        created_at=signal.observed_at,
        metadata={"kind": signal.kind.value, "severity": signal.severity.value,
                  "entity_type": signal.entity_type, "entity_id": signal.entity_id,
                  "dedupe_key": signal.dedupe_key},
    )
