"""The canonical bytes of an entry header, fast: what ``ledger.entry.entry_hash`` hashes.

RFC 8785 writes an object with sorted keys, no whitespace, integers as plain digits and strings with
only ``"``, ``\\`` and control characters escaped. For the header's keys and for strings of printable
ASCII without quote or backslash that is a plain template; anything else goes through the RFC 8785
library. Verifying a million entries spends most of its time here, hence the template."""

from __future__ import annotations

_MAX_SAFE_INTEGER = 2**53 - 1


def plain_text(value: str) -> bool:
    """True when RFC 8785 writes ``value`` between quotes as it is (printable ASCII, no quote or
    backslash): the header template can hold it."""
    return value.isascii() and value.isprintable() and '"' not in value and "\\" not in value


def entry_header_bytes(*, seq: int, tenant: str, kind: str, actor: str, recorded_at: str,
                       payload_digest: str, prev_hash: str) -> bytes:
    if 0 <= seq <= _MAX_SAFE_INTEGER and plain_text(tenant + kind + actor + recorded_at + payload_digest
                                                    + prev_hash):
        return plain_header_bytes(seq, tenant, kind, actor, recorded_at, payload_digest, prev_hash)
    from ledger.entry import canonical_json  # not at import: verifier worker processes skip pydantic

    return canonical_json({"seq": seq, "tenant": tenant, "kind": kind, "actor": actor,
                           "recorded_at": recorded_at, "payload_digest": payload_digest,
                           "prev_hash": prev_hash})


def plain_header_bytes(seq: int, tenant: str, kind: str, actor: str, recorded_at: str, payload_digest: str,
                       prev_hash: str) -> bytes:
    """The template alone: only for 0 <= seq <= 2**53 - 1 and strings that pass ``plain_text``."""
    return (f'{{"actor":"{actor}","kind":"{kind}","payload_digest":"{payload_digest}",'
            f'"prev_hash":"{prev_hash}","recorded_at":"{recorded_at}","seq":{seq},'
            f'"tenant":"{tenant}"}}').encode()
