"""Pure pieces of the actions layer: status filters, ages, field previews, briefs, idempotency keys."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from actions.briefs import brief_path, render_brief, safe_name, write_brief
from actions.status import idempotency_key
from actions.views import UnknownStatusError, age, evidence_items, status_filter
from actions.views_crm import bound_record_version, crm_changes
from decisioning.contracts import ActionType, Citation
from tests.integration.test_actions_support import T0, make_proposal


def test_status_filter_defaults_to_pending_and_rejects_unknown() -> None:
    assert status_filter(None) == status_filter("pending") == "needs_approval"
    assert status_filter("all") is None and status_filter("executed") == "executed"
    with pytest.raises(UnknownStatusError, match="pending, all"):
        status_filter("done")


def test_age_is_coarse_and_never_negative() -> None:
    assert age(T0, T0 + timedelta(seconds=5)) == "5s"
    assert age(T0, T0 + timedelta(hours=3, minutes=5)) == "3h"
    assert age(T0, T0 + timedelta(days=2)) == "2d"
    assert age(T0, T0 - timedelta(hours=1)) == "0s"


def test_crm_changes_read_the_current_record() -> None:
    proposal = make_proposal(action_type=ActionType.crm_update_field, arguments={
        "object": "accounts", "record_id": "acc-1", "field": "stage", "value": "at_risk"})
    [change] = crm_changes(proposal, lambda t, o, r: {"stage": "renewal", "version": 4})
    assert (change.current, change.proposed, change.record_version) == ("renewal", "at_risk", 4)
    assert bound_record_version([change]) == 4
    [missing] = crm_changes(proposal, lambda t, o, r: None)
    assert not missing.record_found and missing.record_version is None


def test_crm_changes_of_a_new_task_list_every_field_and_messages_change_nothing() -> None:
    changes = crm_changes(make_proposal(), lambda t, o, r: {})
    assert all(c.creates and c.current is None for c in changes)
    assert {c.field: c.proposed for c in changes} == {
        "account_id": "acc-1", "subject": "Call the new champion", "body": "Usage dropped 40%",
        "due_in_days": 3, "owner": "ana@acme.test"}
    assert bound_record_version(changes) is None
    notify = make_proposal(action_type=ActionType.notify_owner, arguments={
        "recipient": "a@b.test", "subject": "s", "message": "m"})
    assert crm_changes(notify, lambda t, o, r: {}) == []


def test_memory_and_graph_evidence_are_split_for_display() -> None:
    proposal = make_proposal(evidence=[
        Citation(kind="memory_hit", ref="m1", detail="crm_note, score 0.83: Budget frozen until Q3"),
        Citation(kind="graph_path", ref="Account:a1 -> WORKS_AT -> Contact:c3")])
    memory, path = evidence_items(proposal, lambda ref: None)
    assert memory.memory == {"source": "crm_note", "score": "0.83", "snippet": "Budget frozen until Q3"}
    assert path.path_steps == ["Account:a1", "WORKS_AT", "Contact:c3"] and path.memory is None


def test_evidence_never_includes_another_tenants_signal() -> None:
    class Foreign:
        tenant = "globex"

    proposal = make_proposal(evidence=[Citation(kind="signal", ref="sig_x"),
                                       Citation(kind="memory_hit", ref="m1", detail="note")])
    items = evidence_items(proposal, lambda ref: Foreign())  # type: ignore[arg-type,return-value]
    assert [i.signal for i in items] == [None, None]
    assert items[1].detail == "note"


def test_idempotency_key_changes_with_version_and_arguments() -> None:
    base = make_proposal()
    key = idempotency_key(base)
    assert key == f"prop-1:v1:{base.arguments_digest[:16]}"
    assert idempotency_key(make_proposal(version=2)) != key
    assert idempotency_key(make_proposal(arguments={"subject": "other"})) != key
    assert idempotency_key(make_proposal()) == key


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".hidden", "x" * 200, "a\\b"])
def test_brief_paths_cannot_escape_the_artifacts_dir(bad: str) -> None:
    with pytest.raises(ValueError, match="file name"):
        safe_name(bad, "tenant")


def test_brief_is_deterministic_and_written_atomically(tmp_path: Path) -> None:
    proposal = make_proposal(action_type=ActionType.draft_meeting_brief, arguments={
        "title": "Renewal prep", "sections": [{"heading": "Risks", "body": "Champion left"}]})
    assert render_brief(proposal) == render_brief(proposal)
    path = write_brief(tmp_path, proposal)
    assert path == brief_path(tmp_path, proposal) == tmp_path / "acme" / "briefs" / "prop-1.md"
    write_brief(tmp_path, proposal)
    assert [p.name for p in path.parent.iterdir()] == ["prop-1.md"]
    assert "## Risks\n\nChampion left" in path.read_text()
