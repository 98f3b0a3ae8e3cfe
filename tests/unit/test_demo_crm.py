"""The demo CRM write API: exactly-once effects under one idempotency key, versions, clear errors."""

from __future__ import annotations

import threading
from pathlib import Path

import polars as pl
import pytest

from connectors.demo.crm import CrmConflictError, CrmError, CrmIdempotencyError, DemoCrm
from connectors.demo.world import DemoWorld

ACCOUNT = "acme-acc-000001"
OPP = "acme-opp-000000"


@pytest.fixture()
def crm(tmp_path: Path) -> DemoCrm:
    DemoWorld.create(tmp_path, ["acme", "globex"], 5, 1, 0.0)
    return DemoCrm(tmp_path)


def test_repeated_key_returns_stored_result_and_mutates_once(crm: DemoCrm) -> None:
    first = crm.create_task("acme", ACCOUNT, "Call champion", "Usage fell", "2026-01-09", None, "key-1")
    repeats = [crm.create_task("acme", ACCOUNT, "Call champion", "Usage fell", "2026-01-09", None, "key-1")
               for _ in range(2)]
    assert first.created and not any(r.created for r in repeats)
    assert {r.external_id for r in repeats} == {first.external_id}
    assert all(r.after == first.after for r in repeats)
    assert crm.mutation_count("acme") == 1
    assert [t["id"] for t in crm.tasks("acme")] == [first.external_id]


def test_ten_concurrent_writers_with_one_key_make_one_mutation(crm: DemoCrm, tmp_path: Path) -> None:
    results = []
    errors = []
    barrier = threading.Barrier(10)

    def write() -> None:
        barrier.wait()
        try:  # each thread with its own client, like separate executor workers
            results.append(DemoCrm(tmp_path).update_field("acme", "opportunities", OPP, "amount", 5000.0,
                                                          "same-key"))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(r.created for r in results) == 1 and len(results) == 10
    assert crm.mutation_count("acme") == 1
    assert crm.get_record("acme", "opportunities", OPP)["version"] == 2


def test_same_key_with_other_arguments_is_refused(crm: DemoCrm) -> None:
    crm.update_field("acme", "opportunities", OPP, "amount", 5000.0, "k")
    with pytest.raises(CrmIdempotencyError, match="different request"):
        crm.update_field("acme", "opportunities", OPP, "amount", 6000.0, "k")
    assert crm.mutation_count("acme") == 1


def test_expected_version_guards_against_stale_writes(crm: DemoCrm) -> None:
    version = crm.get_record("acme", "opportunities", OPP)["version"]
    result = crm.update_field("acme", "opportunities", OPP, "stage", "proposal", "a",
                              expected_version=version)
    assert result.before["version"] == version and result.after["version"] == version + 1
    assert result.after["stage"] == "proposal"
    with pytest.raises(CrmConflictError, match="re-read"):
        crm.update_field("acme", "opportunities", OPP, "stage", "discovery", "b", expected_version=version)
    assert crm.get_record("acme", "opportunities", OPP)["stage"] == "proposal"


@pytest.mark.parametrize(("call", "message"), [
    (lambda c: c.update_field("nope", "opportunities", OPP, "amount", 1.0, "k"), "unknown tenant"),
    (lambda c: c.update_field("acme", "leads", OPP, "amount", 1.0, "k"), "unknown object"),
    (lambda c: c.update_field("acme", "opportunities", "gone", "amount", 1.0, "k"), "no opportunities"),
    (lambda c: c.update_field("acme", "opportunities", OPP, "probability", 1.0, "k"), "no writable field"),
    (lambda c: c.update_field("acme", "opportunities", OPP, "stage", "won", "k"), "allowed"),
    (lambda c: c.update_field("acme", "opportunities", OPP, "close_date", "soon", "k"), "invalid value"),
    (lambda c: c.create_task("acme", "missing", "s", "b", None, None, "k"), "no account"),
    (lambda c: c.create_task("acme", ACCOUNT, "s", "b", None, None, ""), "idempotency key is required"),
])
def test_bad_requests_raise_crm_error_and_change_nothing(crm: DemoCrm, call, message: str) -> None:
    with pytest.raises(CrmError, match=message):
        call(crm)
    assert crm.mutation_count("acme") == 0


def test_tenants_are_separate(crm: DemoCrm) -> None:
    crm.create_task("acme", ACCOUNT, "s", "b", None, None, "k")
    assert crm.tasks("globex") == [] and crm.mutation_count("globex") == 0
    assert crm.get_record("globex", "accounts", ACCOUNT) is None


def test_written_fields_and_tasks_show_in_the_next_export(crm: DemoCrm, tmp_path: Path) -> None:
    crm.update_field("acme", "opportunities", OPP, "close_date", "2026-12-31", "k1")
    task = crm.create_task("acme", ACCOUNT, "Renewal prep", "b", "2026-01-05", "rep@acme.example", "k2")
    DemoWorld.open(tmp_path).advance_day()
    folder = tmp_path / "exports" / "acme" / "2026-01-02"
    opps = pl.read_ndjson(folder / "opportunities.jsonl").filter(pl.col("Id") == OPP)
    assert opps["CloseDate"].to_list() == ["2026-12-31"]
    tasks = pl.read_ndjson(folder / "tasks.jsonl")
    assert tasks["Id"].to_list() == [task.external_id] and tasks["WhatId"].to_list() == [ACCOUNT]
