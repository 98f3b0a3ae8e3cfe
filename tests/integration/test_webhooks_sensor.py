"""Webhook inbox -> runs: the sensor's cursor, run keys per tenant and id range, retried ticks; the
webhook stage those runs perform (one tenant, up to the run's inbox id, trace ids kept). The same
with the inbox on SQS, where one run takes every tenant's events in queue order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import dagster as dg
import pytest
from moto import mock_aws

from connectors.webhooks.inbox import WebhookInbox
from connectors.webhooks.port import NewDelivery
from connectors.webhooks.sqs_inbox import SqsWebhookInbox, create_inbox_queues
from ledger.sql import sqlite_url
from ledger.store import Ledger
from perception.contracts import SignalKind
from perception.signal_store import SignalStore
from perception.snapshot_store import NormalizedSnapshotStore
from perception.webhook_stage import InboxSenseReport, sense_inbox_events, sense_received_events
from pipelines.resources import OperationalDbResource
from pipelines.sensors import WebhookRunScope, webhook_inbox_sensor, webhook_run_scope
from tests.unit.test_webhooks_hubspot_events import OCCURRED, raw_rows, snapshot

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def store(inbox: WebhookInbox, *deliveries: tuple[str, str]) -> None:
    inbox.store_many([NewDelivery(tenant, "demo", delivery_id, AT, b"{}")
                      for tenant, delivery_id in deliveries])


def tick(url: str, cursor: str | None) -> dg.SensorResult | dg.SkipReason:
    context = dg.build_sensor_context(cursor=cursor, resources={"db": OperationalDbResource(url=url)})
    return webhook_inbox_sensor(context)


def requests_of(result: dg.SensorResult | dg.SkipReason) -> list[tuple[str | None, dict[str, str]]]:
    assert isinstance(result, dg.SensorResult)
    return [(r.run_key, dict(r.tags)) for r in result.run_requests or []]


def test_one_run_per_tenant_keyed_by_its_inbox_id_range(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "state.sqlite")
    inbox = WebhookInbox(url)
    store(inbox, ("acme", "a1"), ("globex", "g1"), ("acme", "a2"), ("acme", "a3"))
    result = tick(url, None)
    assert requests_of(result) == [
        ("inbox:acme:1-4", {"revloop/tenant": "acme", "revloop/inbox_through_id": "4",
                            "revloop/inbox_events": "3"}),
        ("inbox:globex:2-2", {"revloop/tenant": "globex", "revloop/inbox_through_id": "2",
                              "revloop/inbox_events": "1"})]
    assert isinstance(result, dg.SensorResult) and result.cursor == "4"


def test_a_retried_tick_requests_the_same_run_keys_and_later_ticks_only_new_events(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "state.sqlite")
    inbox = WebhookInbox(url)
    store(inbox, ("acme", "a1"), ("globex", "g1"))
    first, retried = tick(url, None), tick(url, None)
    assert requests_of(first) == requests_of(retried), "Dagster drops a run whose run_key it has seen"
    assert isinstance(tick(url, "2"), dg.SkipReason)
    store(inbox, ("globex", "g2"))
    assert [key for key, _ in requests_of(tick(url, "2"))] == ["inbox:globex:3-3"]


def test_processed_and_dead_events_launch_nothing(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "state.sqlite")
    inbox = WebhookInbox(url)
    store(inbox, ("acme", "a1"), ("acme", "a2"), ("acme", "a3"))
    inbox.mark_processed([1])
    inbox.mark_dead(3, "poison")
    assert [key for key, _ in requests_of(tick(url, None))] == ["inbox:acme:2-2"]


def test_run_scope_is_read_back_from_the_tags() -> None:
    assert webhook_run_scope({"revloop/tenant": "acme", "revloop/inbox_through_id": "17"}) == \
        WebhookRunScope("acme", 17)
    assert webhook_run_scope({"dagster/partition/tenant": "acme"}) is None
    with pytest.raises(ValueError, match="not an inbox id"):
        webhook_run_scope({"revloop/tenant": "acme", "revloop/inbox_through_id": "x"})


class Stores:
    def __init__(self, root: Path) -> None:
        url = sqlite_url(root / "state.sqlite")
        self.inbox, self.signals, self.ledger = WebhookInbox(url), SignalStore(url), Ledger(url)
        self.normalized = NormalizedSnapshotStore(root / "lake")
        self.normalized.write(snapshot(raw_rows()))

    def sense(self, tenant: str, through_id: int | None = None) -> InboxSenseReport:
        return sense_inbox_events(self.inbox, self.normalized, self.signals, self.ledger, tenant,
                                  through_id=through_id)


def hubspot(delivery_id: str, body: dict[str, object], tenant: str = "acme",
            trace: str | None = TRACE) -> NewDelivery:
    return NewDelivery(tenant, "hubspot", delivery_id, AT, json.dumps(body).encode(), trace)


SLIP = {"eventId": 1, "subscriptionType": "deal.propertyChange", "objectId": 301, "occurredAt": OCCURRED,
        "propertyName": "closedate", "propertyValue": "1778112000000"}


def test_webhook_stage_turns_one_tenants_events_into_traced_signals(tmp_path: Path) -> None:
    s = Stores(tmp_path)
    s.inbox.store_many([hubspot("h1", SLIP), hubspot("h2", {"subscriptionType": "deal.merge"}),
                        hubspot("g1", SLIP, tenant="globex"), hubspot("h3", SLIP, trace=None)])
    report = s.sense("acme", through_id=3)
    assert [(sig.kind, sig.account_id, sig.trace_id) for sig in report.signals] == [
        (SignalKind.deal_slipped, "101", TRACE)]
    assert (report.processed, report.dead_lettered, report.accounts) == (1, 1, ["101"])
    assert s.signals.get(report.signals[0].signal_id).trace_id == TRACE  # type: ignore[union-attr]
    raised = s.ledger.entries("acme", "signal.raised")
    assert [e.payload["trace_id"] for e in raised] == [TRACE]
    assert [e.payload["trace_id"] for e in s.ledger.entries("acme", "webhook.processed")] == [TRACE]
    dead = s.ledger.entries("acme", "webhook.dead_lettered")
    assert [e.payload["delivery_id"] for e in dead] == ["h2"]
    assert "unsupported HubSpot subscription" in (s.inbox.dead_letters()[0].error or "")
    assert [(e.tenant, e.delivery_id) for e in s.inbox.pending()] == [("globex", "g1"), ("acme", "h3")], \
        "other tenants and events after the run's id stay pending"


def test_rerunning_the_webhook_stage_changes_nothing(tmp_path: Path) -> None:
    s = Stores(tmp_path)
    s.inbox.store_many([hubspot("h1", SLIP)])
    assert len(s.sense("acme").signals) == 1
    entries = len(s.ledger.entries("acme"))
    again = s.sense("acme")
    assert (again.signals, again.processed) == ([], 0)
    assert len(s.ledger.entries("acme")) == entries


# -- the same with the inbox on SQS (moto): one run per tick for every tenant, read in queue order ----


@pytest.fixture
def sqs_db(tmp_path: Path) -> Iterator[OperationalDbResource]:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue_url, dead_letter_url = create_inbox_queues(sqs, "revloop-webhooks", max_attempts=2)
        yield OperationalDbResource(url=sqlite_url(tmp_path / "state.sqlite"),
                                    webhook_sqs_queue_url=queue_url,
                                    webhook_sqs_dead_letter_url=dead_letter_url, webhook_max_attempts=2)


def test_on_sqs_one_run_takes_every_tenants_new_events_keyed_by_claim_ids(
        sqs_db: OperationalDbResource) -> None:
    inbox = sqs_db.inbox()
    assert isinstance(inbox, SqsWebhookInbox)
    inbox.store_many([NewDelivery(t, "demo", d, AT, b"{}") for t, d in [("acme", "a1"), ("globex", "g1")]])

    def sqs_tick(cursor: str | None) -> dg.SensorResult | dg.SkipReason:
        return webhook_inbox_sensor(dg.build_sensor_context(cursor=cursor, resources={"db": sqs_db}))

    first = sqs_tick(None)
    assert requests_of(first) == [("inbox:queue:1-2", {"revloop/inbox_through_id": "2",
                                                        "revloop/inbox_events": "2",
                                                        "revloop/inbox_tenants": "acme,globex"})]
    assert requests_of(sqs_tick(None)) == requests_of(first), "a retried tick asks for the same run"
    assert isinstance(first, dg.SensorResult) and first.cursor == "2"
    assert isinstance(sqs_tick("2"), dg.SkipReason)
    inbox.store_many([NewDelivery("acme", "demo", "a2", AT, b"{}")])
    assert [key for key, _ in requests_of(sqs_tick("2"))] == ["inbox:queue:3-3"]


def test_on_sqs_the_webhook_stage_acks_what_it_understood_and_dead_letters_poison_at_max_attempts(
        sqs_db: OperationalDbResource, tmp_path: Path) -> None:
    inbox = sqs_db.inbox()
    normalized = NormalizedSnapshotStore(tmp_path / "lake")
    normalized.write(snapshot(raw_rows()))
    signals, ledger = SignalStore(sqs_db.url), Ledger(sqs_db.url)
    inbox.store_many([hubspot("h1", SLIP), hubspot("h2", {"subscriptionType": "deal.merge"})])

    [first] = sense_received_events(inbox, normalized, signals, ledger)
    assert [(sig.kind, sig.account_id, sig.trace_id) for sig in first.signals] == [
        (SignalKind.deal_slipped, "101", TRACE)]
    assert (first.tenant, first.processed, first.dead_lettered) == ("acme", 1, 0)
    assert inbox.backlog_by_tenant() == {"acme": 1}, "the poison event is offered again"
    assert inbox.dead_letters() == []

    [second] = sense_received_events(inbox, normalized, signals, ledger)  # its second and last attempt
    assert (second.processed, second.dead_lettered, second.signals) == (0, 1, [])
    [letter] = inbox.dead_letters()
    assert letter.delivery_id == "h2" and "unsupported HubSpot subscription" in (letter.error or "")
    assert [e.payload["delivery_id"] for e in ledger.entries("acme", "webhook.dead_lettered")] == ["h2"]
    assert inbox.backlog_by_tenant() == {} and sense_received_events(inbox, normalized, signals, ledger) == []


def test_a_custom_pipeline_stage_id_is_read_with_the_stages_the_last_pull_saved(tmp_path: Path) -> None:
    from connectors.hubspot.stages import HubSpotStageLabels

    s = Stores(tmp_path)
    moved_back = {**SLIP, "propertyName": "dealstage", "propertyValue": "81234567"}  # a custom stage id
    s.inbox.store_many([hubspot("h1", moved_back)])
    labels = HubSpotStageLabels(sqlite_url(tmp_path / "state.sqlite"))
    unknown = sense_inbox_events(s.inbox, s.normalized, s.signals, s.ledger, "acme", stage_labels=labels.get)
    assert (unknown.processed, unknown.dead_lettered) == (0, 1), "no pull yet: the id means nothing"
    assert "invalid_value: stage" in (s.inbox.dead_letters()[0].error or "")

    labels.replace("acme", {"81234567": "Qualified To Buy"})  # what the next pull saves
    s.inbox.redrive()
    report = sense_inbox_events(s.inbox, s.normalized, s.signals, s.ledger, "acme", stage_labels=labels.get)
    assert [(sig.kind, sig.account_id) for sig in report.signals] == [(SignalKind.stage_regression, "101")]
