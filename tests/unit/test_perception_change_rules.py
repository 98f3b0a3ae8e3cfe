"""The vectorised change rules raise exactly what the per-change rules raise, on the same diff."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from perception.change_rules import opportunity_change_signals, to_signals
from perception.crm_rules import RecordContext, crm_signals
from perception.diff import diff_tables, diff_wide
from perception.normalize import NormalizedSnapshot
from perception.schemas import SCHEMAS
from perception.thresholds import SignalThresholds

AT = datetime(2026, 3, 2, 6, tzinfo=UTC)


def opp(opp_id: str, stage: str, close: date, amount: float = 20_000.0) -> dict:
    return {"tenant": "acme", "opportunity_id": opp_id, "account_id": "A1", "name": f"Deal {opp_id}",
            "stage": stage, "amount": amount, "close_date": close, "owner_email": "rep@v.example",
            "stage_changed_on": None}


BEFORE = [
    opp("slip10", "proposal", date(2026, 3, 10)),
    opp("slip35", "discovery", date(2026, 3, 10)),
    opp("slip3", "proposal", date(2026, 3, 10)),
    opp("closed", "closed_won", date(2026, 3, 10)),
    opp("big", "negotiation", date(2026, 3, 10), amount=250_000.0),
    opp("back2", "negotiation", date(2026, 4, 1)),
    opp("back1", "proposal", date(2026, 4, 1)),
    opp("forward", "discovery", date(2026, 4, 1)),
    opp("gone", "proposal", date(2026, 4, 1)),
]
AFTER = [
    opp("slip10", "proposal", date(2026, 3, 20)),
    opp("slip35", "discovery", date(2026, 4, 14)),
    opp("slip3", "proposal", date(2026, 3, 13)),
    opp("closed", "closed_won", date(2026, 4, 30)),
    opp("big", "negotiation", date(2026, 3, 18), amount=250_000.0),
    opp("back2", "discovery", date(2026, 4, 1)),
    opp("back1", "discovery", date(2026, 4, 1)),
    opp("forward", "proposal", date(2026, 4, 1)),
    opp("new", "qualification", date(2026, 5, 1)),
]
ACCOUNTS = pl.DataFrame([{"tenant": "acme", "account_id": "A1", "name": "Acme Corp",
                          "domain": "acme.example", "industry": "retail", "owner_email": "rep@v.example",
                          "arr": 1.0, "seats_licensed": 10, "renewal_date": date(2027, 1, 1)}],
                        schema=SCHEMAS["accounts"])


def frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    schema = SCHEMAS["opportunities"]
    return pl.DataFrame(BEFORE, schema=schema), pl.DataFrame(AFTER, schema=schema)


def snapshot(opps: pl.DataFrame) -> NormalizedSnapshot:
    return NormalizedSnapshot("acme", "demo", AT, {"opportunities": opps, "accounts": ACCOUNTS})


def test_vectorised_rules_match_the_per_change_rules() -> None:
    before, after = frames()
    t = SignalThresholds()
    changes = diff_tables("acme", "opportunities", before, after, "opportunity_id")
    expected = crm_signals("acme", "demo", AT, changes,
                           RecordContext.from_snapshots(changes, snapshot(after), snapshot(before)), t)
    frame = opportunity_change_signals("acme", diff_wide(before, after, "opportunity_id"), ACCOUNTS, t,
                                       AT.date().isoformat())
    got = to_signals(frame, observed_at=AT, source="demo")

    def view(signals: list) -> list[tuple]:
        return sorted((s.dedupe_key, s.kind, s.severity, s.narrative, s.entity_id,
                       tuple((e.field, e.before, e.after, e.note) for e in s.evidence)) for s in signals)

    assert view(got) == view(expected)
    assert {s.entity_id for s in got} == {"slip10", "slip35", "big", "back2", "back1"}


def test_no_change_no_signal() -> None:
    before, _ = frames()
    frame = opportunity_change_signals("acme", diff_wide(before, before, "opportunity_id"), ACCOUNTS,
                                       SignalThresholds(), "2026-03-02")
    assert frame.height == 0
