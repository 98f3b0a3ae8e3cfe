"""Dagster resources: small typed wrappers that build the embedded adapters at execution time.

One switch (``Settings.profile``) picks the resource set; only ``local`` (embedded engines) exists."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import PrivateAttr

from revloop.settings import Settings

if TYPE_CHECKING:
    from actions.executors import ActionExecutor
    from actions.review import ProposalReviewService
    from actions.store import OperationalStore
    from connectors.demo.connector import DemoConnector
    from connectors.demo.crm import DemoCrm
    from connectors.demo.world import DemoWorld
    from connectors.object_store import LocalObjectStore
    from connectors.webhooks.inbox import WebhookInbox
    from decisioning.policy import CedarPolicyEngine
    from ledger.iceberg import IcebergWarehouse
    from ledger.store import Ledger
    from perception.quality_gate import QualityGate
    from perception.signal_store import SignalStore
    from perception.snapshot_store import NormalizedSnapshotStore
    from perception.stage import SenseCursor
    from world_model.graph import SituationGraph
    from world_model.memory import LanceDbMemory


class OperationalDbResource(dg.ConfigurableResource):
    """The operational database (SQLite WAL locally): signals, proposals, decisions, actions,
    webhook inbox and the ledger."""

    url: str

    _cache: dict[str, Any] = PrivateAttr(default_factory=dict)

    def _get(self, name: str, factory: Any) -> Any:
        if name not in self._cache:
            self._cache[name] = factory(self.url)
        return self._cache[name]

    def ledger(self) -> Ledger:
        from ledger.store import Ledger

        return self._get("ledger", Ledger)

    def signals(self) -> SignalStore:
        from perception.signal_store import SignalStore

        return self._get("signals", SignalStore)

    def proposals(self) -> OperationalStore:
        from actions.store import OperationalStore

        return self._get("proposals", OperationalStore)

    def sense_cursor(self) -> SenseCursor:
        from perception.stage import SenseCursor

        return self._get("sense_cursor", SenseCursor)

    def review_service(self, approval_ttl_hours: float) -> ProposalReviewService:
        from datetime import UTC, datetime, timedelta

        from actions.review import ProposalReviewService

        return ProposalReviewService(self.proposals(), self.ledger(), lambda: datetime.now(UTC),
                                     timedelta(hours=approval_ttl_hours))

    def inbox(self) -> WebhookInbox:
        from connectors.webhooks.inbox import WebhookInbox

        return self._get("inbox", WebhookInbox)

    def quality_gate(self) -> QualityGate:
        from perception.quality_gate import QualityGate

        return self._get("quality_gate", QualityGate)


class DemoWorldResource(dg.ConfigurableResource):
    """The seeded demo world: the embedded stand-in for a CRM and product telemetry."""

    root: str
    tenants: list[str]
    accounts_per_tenant: int
    seed: int
    event_rate: float

    def world(self) -> DemoWorld:
        from connectors.demo.world import DemoWorld

        return DemoWorld.create(Path(self.root), tenants=self.tenants,
                                accounts_per_tenant=self.accounts_per_tenant, seed=self.seed,
                                event_rate=self.event_rate)

    def connector(self) -> DemoConnector:
        from connectors.demo.connector import DemoConnector

        return DemoConnector(Path(self.root))

    def crm(self) -> DemoCrm:
        from connectors.demo.crm import DemoCrm

        return DemoCrm(Path(self.root))


class LakeResource(dg.ConfigurableResource):
    """The local lake: immutable raw snapshots and normalized snapshots, as Parquet."""

    root: str

    def raw(self) -> LocalObjectStore:
        from connectors.object_store import LocalObjectStore

        return LocalObjectStore(Path(self.root))

    def normalized(self) -> NormalizedSnapshotStore:
        from perception.snapshot_store import NormalizedSnapshotStore

        return NormalizedSnapshotStore(Path(self.root))


class SituationGraphResource(dg.ConfigurableResource):
    """The situation graph: gremlite (SQLite-backed Gremlin) through gremlinpython."""

    path: str

    _graph: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        from world_model.graph import open_gremlite_graph

        self._graph = open_gremlite_graph(Path(self.path))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._graph is not None:
            self._graph.close()

    def graph(self) -> SituationGraph:
        return self._graph


class SemanticMemoryResource(dg.ConfigurableResource):
    """Semantic memory: an embedded LanceDB store and a sentence-embedding model loaded offline."""

    path: str
    embedding_model: str

    _memory: Any = PrivateAttr(default=None)

    def memory(self) -> LanceDbMemory:
        if self._memory is None:
            from world_model.embedder import SentenceTransformerEmbedder
            from world_model.memory import LanceDbMemory

            self._memory = LanceDbMemory(Path(self.path),
                                         SentenceTransformerEmbedder(self.embedding_model))
        return self._memory


class PolicyResource(dg.ConfigurableResource):
    """Cedar policies evaluated in-process (the files in decisioning/policies/)."""

    policy_dir: str | None = None

    def engine(self) -> CedarPolicyEngine:
        from decisioning.policy import CedarPolicyEngine

        return CedarPolicyEngine(Path(self.policy_dir) if self.policy_dir else None)


class ExecutorResource(dg.ConfigurableResource):
    """Executors: CRM write-back to the demo CRM, the notification outbox, brief artifacts."""

    artifacts_dir: str

    def executor(self, db: OperationalDbResource, world: DemoWorldResource) -> ActionExecutor:
        from actions.executors import ActionExecutor

        return ActionExecutor(db.proposals(), db.ledger(), world.crm(), Path(self.artifacts_dir))


class WarehouseResource(dg.ConfigurableResource):
    """Iceberg tables (pyiceberg SQL catalog on SQLite, local warehouse) queried with DuckDB."""

    catalog_db: str
    warehouse_dir: str

    def warehouse(self) -> IcebergWarehouse:
        from ledger.iceberg import IcebergWarehouse

        return IcebergWarehouse(Path(self.catalog_db), Path(self.warehouse_dir))


def resources_for(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """The resource set of a profile. Local: every engine embedded under the data directory."""
    if settings.profile != "local":
        raise ValueError(f"unknown profile {settings.profile!r}; available: local")
    paths = settings.paths
    from ledger.sql import sqlite_url

    return {
        "db": OperationalDbResource(url=sqlite_url(paths.state_db)),
        "demo_world": DemoWorldResource(root=str(paths.demo_world), tenants=settings.tenants,
                                        accounts_per_tenant=settings.demo_accounts_per_tenant,
                                        seed=settings.demo_seed, event_rate=settings.demo_event_rate),
        "lake": LakeResource(root=str(paths.lake)),
        "graph": SituationGraphResource(path=str(paths.graph_db)),
        "memory": SemanticMemoryResource(path=str(paths.vectors),
                                         embedding_model=settings.embedding_model),
        "policy": PolicyResource(),
        "executors": ExecutorResource(artifacts_dir=str(paths.artifacts)),
        "warehouse": WarehouseResource(catalog_db=str(paths.iceberg_catalog),
                                       warehouse_dir=str(paths.iceberg_warehouse)),
    }
