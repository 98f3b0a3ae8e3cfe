"""Shared test doubles and builders for the actions tests (no tests here).

FakeCrm is a hand-written, thread-safe stand-in for the CrmWriter port: idempotent on the key,
versioned records, and a counter of real mutations so tests can prove exactly-once effects."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from actions.contracts import ReviewVerdict
from actions.executors import ActionExecutor
from actions.review import ProposalReviewService
from actions.store import OperationalStore
from decisioning.contracts import (
    ActionType,
    Citation,
    PolicyDecision,
    PolicyOutcome,
    Proposal,
    RiskTier,
)
from ledger.sql import sqlite_url
from ledger.store import Ledger

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


class FakeCrmConflictError(Exception):
    pass


@dataclass(frozen=True)
class FakeWriteResult:
    external_id: str
    created: bool
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class FakeCrm:
    def __init__(self, delay_seconds: float = 0.0) -> None:
        self.records: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.by_key: dict[str, FakeWriteResult] = {}
        self.mutations = 0
        self.delay_seconds = delay_seconds
        self._lock = threading.Lock()

    def put(self, tenant: str, object: str, record_id: str, **fields: Any) -> None:
        self.records[(tenant, object, record_id)] = {"id": record_id, "version": 1, **fields}

    def get_record(self, tenant: str, object: str, record_id: str) -> dict[str, Any] | None:
        record = self.records.get((tenant, object, record_id))
        return dict(record) if record else None

    def create_task(self, tenant: str, account_id: str, subject: str, body: str, due_date: str | None,
                    owner: str | None, idempotency_key: str) -> FakeWriteResult:
        time.sleep(self.delay_seconds)
        with self._lock:
            if idempotency_key in self.by_key:
                return self.by_key[idempotency_key]
            self.mutations += 1
            task_id = f"task-{self.mutations}"
            after = {"id": task_id, "account_id": account_id, "subject": subject, "owner": owner,
                     "due_date": due_date}
            self.records[(tenant, "tasks", task_id)] = after
            self.by_key[idempotency_key] = FakeWriteResult(task_id, True, None, after)
            return self.by_key[idempotency_key]

    def update_field(self, tenant: str, object: str, record_id: str, field: str, value: Any,
                     idempotency_key: str, expected_version: int | None = None) -> FakeWriteResult:
        time.sleep(self.delay_seconds)
        with self._lock:
            if idempotency_key in self.by_key:
                return self.by_key[idempotency_key]
            record = self.records[(tenant, object, record_id)]
            if expected_version is not None and record["version"] != expected_version:
                raise FakeCrmConflictError(f"{record_id} is at version {record['version']}, "
                                           f"not {expected_version}")
            before = dict(record)
            record[field] = value
            record["version"] += 1
            self.mutations += 1
            self.by_key[idempotency_key] = FakeWriteResult(record_id, False, before, dict(record))
            return self.by_key[idempotency_key]


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def make_proposal(proposal_id: str = "prop-1", tenant: str = "acme",
                  action_type: ActionType = ActionType.crm_create_task,
                  arguments: dict[str, Any] | None = None, version: int = 1,
                  account_id: str = "acc-1", created_at: datetime = T0,
                  evidence: list[Citation] | None = None) -> Proposal:
    if arguments is None:
        arguments = {"subject": "Call the new champion", "body": "Usage dropped 40%",
                     "due_in_days": 3, "owner": "ana@acme.test"}
    return Proposal(
        proposal_id=proposal_id, version=version, tenant=tenant, account_id=account_id,
        action_type=action_type, arguments=arguments, rationale="Usage fell after the champion left",
        evidence=evidence or [Citation(kind="signal", ref="sig_1")], confidence=0.8,
        risk_tier=RiskTier.L1, expected_effect="retain the account", cost_estimate_usd=0.0,
        agent="playbook", agent_version="1", trace_id="trace-1", created_at=created_at)


def policy(proposal: Proposal, outcome: PolicyOutcome, errors: list[str] | None = None,
           at: datetime = T0) -> PolicyDecision:
    return PolicyDecision(proposal_id=proposal.proposal_id, proposal_version=proposal.version,
                          tenant=proposal.tenant, outcome=outcome, policy_version="p1",
                          reasons=["rule-1"], errors=errors or [], decided_at=at)


class Loop:
    """The actions layer wired on one SQLite file, as the app wires it."""

    def __init__(self, tmp_path: Path, crm: FakeCrm | None = None,
                 ttl: timedelta = timedelta(hours=72), validity: timedelta = timedelta(hours=24),
                 store_url: str | None = None) -> None:
        url = sqlite_url(tmp_path / "state.sqlite")
        self.clock = FakeClock()
        self.store = OperationalStore(store_url or url)
        self.ledger = Ledger(url)
        self.crm = crm or FakeCrm()
        self.review = ProposalReviewService(self.store, self.ledger, self.clock, ttl, validity)
        self.artifacts = tmp_path / "artifacts"
        self.executor = ActionExecutor(self.store, self.ledger, self.crm, self.artifacts, self.clock)

    def submit(self, proposal: Proposal, outcome: PolicyOutcome) -> Proposal:
        self.store.add_proposals([proposal])
        self.store.record_policy(policy(proposal, outcome, at=self.clock()))
        return proposal

    def approve(self, proposal: Proposal, reviewer: str = "rita", record_version: int | None = None) -> None:
        self.review.decide(proposal.tenant, proposal.proposal_id, ReviewVerdict.approve, reviewer,
                           "looks right", proposal.arguments_digest, record_version)

    def classify(self, outcome: PolicyOutcome, errors: list[str] | None = None) -> None:
        """Policy for every proposal awaiting it (as the policy stage records it)."""
        for proposal in self.store.pending_policy():
            self.store.record_policy(policy(proposal, outcome, errors, at=self.clock()))
