"""Dagster resources: small typed wrappers that build the embedded adapters at execution time.

Every external system has an embedded default under the data directory; settings switch each one to
its AWS/SaaS adapter (Neptune, Pinecone, Bedrock embeddings, S3 raw snapshots). Secrets reach Dagster
as environment-variable references, so the UI shows the variable's name, never its value."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import PrivateAttr

from revloop.settings import Settings

if TYPE_CHECKING:
    from actions.crm import CrmWriter
    from actions.executors import ActionExecutor
    from actions.notify import Notifier
    from actions.review import ProposalReviewService
    from actions.store import OperationalStore
    from connectors.cursors import CursorStore
    from connectors.demo.connector import DemoConnector
    from connectors.demo.crm import DemoCrm
    from connectors.demo.world import DemoWorld
    from connectors.hubspot.stages import HubSpotStageLabels
    from connectors.object_store import LocalObjectStore
    from connectors.webhooks.port import WebhookInboxPort
    from decisioning.agent import DecisionAgent
    from decisioning.policy import CedarPolicyEngine
    from ledger.iceberg import IcebergWarehouse
    from ledger.store import Ledger
    from perception.quality_gate import QualityGate
    from perception.signal_store import SignalStore
    from perception.snapshot_store import NormalizedSnapshotStore
    from perception.stage import LivePullConnector, SenseCursor
    from perception.thresholds import SignalThresholds
    from world_model.embedder import Embedder
    from world_model.graph import SituationGraph
    from world_model.memory import SemanticMemory
    from world_model.stage import GraphSyncCursor


class OperationalDbResource(dg.ConfigurableResource):
    """The operational database (SQLite WAL locally): signals, proposals, decisions, actions,
    webhook inbox and the ledger. The webhook inbox moves to SQS when a queue URL is set (its claims
    stay in this database)."""

    url: str
    webhook_sqs_queue_url: str | None = None
    webhook_sqs_dead_letter_url: str | None = None
    webhook_sqs_endpoint_url: str | None = None
    webhook_max_attempts: int = 5

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

    def inbox(self) -> WebhookInboxPort:
        """The inbox the webhook receiver writes to: SQL in this database, or SQS."""
        from connectors.webhooks.factory import open_webhook_inbox

        return self._get("inbox", lambda url: open_webhook_inbox(
            url, sqs_queue_url=self.webhook_sqs_queue_url,
            sqs_dead_letter_url=self.webhook_sqs_dead_letter_url,
            sqs_endpoint_url=self.webhook_sqs_endpoint_url, max_attempts=self.webhook_max_attempts))

    def hubspot_stage_labels(self) -> HubSpotStageLabels:
        """Each tenant's HubSpot deal stages as the last pull saved them (webhooks send stage ids)."""
        from connectors.hubspot.stages import HubSpotStageLabels

        return self._get("hubspot_stage_labels", HubSpotStageLabels)

    def graph_sync_cursor(self) -> GraphSyncCursor:
        from world_model.stage import GraphSyncCursor

        return self._get("graph_sync_cursor", GraphSyncCursor)

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
    """The lake: immutable raw snapshots (local directory or s3://bucket/prefix) and normalized
    snapshots as Parquet under the data directory."""

    root: str
    raw_uri: str | None = None

    def raw(self) -> LocalObjectStore:
        from connectors.s3_store import open_object_store

        return open_object_store(self.raw_uri or Path(self.root))  # type: ignore[return-value]

    def normalized(self) -> NormalizedSnapshotStore:
        from perception.snapshot_store import NormalizedSnapshotStore

        return NormalizedSnapshotStore(Path(self.root))


class SourcesResource(dg.ConfigurableResource):
    """Where each tenant's CRM data comes from: the demo world's daily exports, or HubSpot / Salesforce
    pulled live (incrementally from cursors kept in the operational database), with per-tenant
    credentials from the environment or the secrets directory (connectors/README.md)."""

    crm_source: str = "demo"
    state_url: str
    secrets_dir: str

    @property
    def live(self) -> bool:
        return self.crm_source != "demo"

    def cursors(self) -> CursorStore:
        from connectors.cursors import CursorStore

        return CursorStore(self.state_url)

    def connector(self, tenant: str) -> LivePullConnector:
        import os

        secrets = Path(self.secrets_dir)
        if self.crm_source == "hubspot":
            from connectors.credentials import hubspot_credentials
            from connectors.hubspot import HubSpotConnector
            from connectors.hubspot.stages import HubSpotStageLabels

            return HubSpotConnector.from_credentials(hubspot_credentials(os.environ, secrets, tenant),
                                                     cursors=self.cursors(),
                                                     stage_labels=HubSpotStageLabels(self.state_url))
        if self.crm_source == "salesforce":
            from connectors.credentials import salesforce_credentials
            from connectors.salesforce import SalesforceConnector

            return SalesforceConnector.from_credentials(salesforce_credentials(os.environ, secrets, tenant),
                                                        cursors=self.cursors())
        raise ValueError(f"no live connector for CRM source {self.crm_source!r} (REVLOOP_CRM_SOURCE): "
                         "use demo, hubspot or salesforce")


class SignalRulesResource(dg.ConfigurableResource):
    """The numbers the signal rules use: defaults, overridden by a YAML/JSON file when configured."""

    thresholds_file: str | None = None

    def thresholds(self) -> SignalThresholds:
        from perception.thresholds import SignalThresholds

        if not self.thresholds_file:
            return SignalThresholds()
        return SignalThresholds.from_mapping(_read_mapping(Path(self.thresholds_file)))


def _read_mapping(path: Path) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        raise FileNotFoundError(f"signal thresholds file {path} does not exist "
                                "(REVLOOP_SIGNAL_THRESHOLDS_FILE); unset it to use the defaults")
    values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}  # JSON is YAML too
    if not isinstance(values, dict):
        raise ValueError(f"signal thresholds file {path} must hold a mapping of threshold names to values")
    return values


class SituationGraphResource(dg.ConfigurableResource):
    """The situation graph: gremlite (SQLite-backed Gremlin) through gremlinpython, or Amazon Neptune
    over wss with IAM SigV4 (boto3 credential chain) when ``neptune_host`` is set."""

    path: str
    neptune_host: str | None = None
    neptune_region: str = "us-east-1"
    neptune_port: int = 8182

    _graph: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if self.neptune_host:
            from world_model.neptune import NeptuneEndpoint, boto3_credentials, open_neptune_graph

            endpoint = NeptuneEndpoint(self.neptune_host, self.neptune_region, self.neptune_port)
            self._graph = open_neptune_graph(endpoint, boto3_credentials())
        else:
            from world_model.graph import open_gremlite_graph

            self._graph = open_gremlite_graph(Path(self.path))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._graph is not None:
            self._graph.close()

    def graph(self) -> SituationGraph:
        return self._graph


class SemanticMemoryResource(dg.ConfigurableResource):
    """Semantic memory: embedded LanceDB, or Pinecone (one namespace per tenant) when
    ``pinecone_index_host`` is set; embeddings from a local sentence-embedding model loaded offline,
    or Amazon Titan on Bedrock."""

    path: str
    embedding_model: str
    embedder: str = "local"
    bedrock_region: str = "us-east-1"
    pinecone_index_host: str | None = None
    pinecone_api_key: str | None = None  # an EnvVar: the Dagster UI shows the variable, not the key

    _memory: Any = PrivateAttr(default=None)

    def memory(self) -> SemanticMemory:
        if self._memory is None:
            embedder = self._embedder()
            if self.pinecone_index_host:
                from world_model.pinecone_memory import open_pinecone_memory

                self._memory = open_pinecone_memory(self.pinecone_index_host, self.pinecone_api_key or "",
                                                    embedder)
            else:
                from world_model.memory import LanceDbMemory

                self._memory = LanceDbMemory(Path(self.path), embedder)
        return self._memory

    def _embedder(self) -> Embedder:
        if self.embedder == "bedrock":
            import boto3

            from world_model.bedrock_embedder import BedrockTitanEmbedder

            return BedrockTitanEmbedder(boto3.client("bedrock-runtime", region_name=self.bedrock_region))
        from world_model.embedder import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(self.embedding_model)


class DecisionAgentResource(dg.ConfigurableResource):
    """The decision agent: the deterministic playbook agent, or the Bedrock agent (Converse with tool
    use over the read-only tool plane) when ``agent`` is ``bedrock``."""

    agent: str = "playbook"
    bedrock_region: str = "us-east-1"

    def build(self, db: OperationalDbResource, graph: SituationGraph, memory: SemanticMemory,
              lake: LakeResource) -> DecisionAgent:
        if self.agent == "playbook":
            from decisioning.playbook import PlaybookAgent

            return PlaybookAgent()
        if self.agent != "bedrock":
            raise ValueError(f"unknown decision agent {self.agent!r} (REVLOOP_DECISION_AGENT): "
                             "use 'playbook' or 'bedrock'")
        import boto3

        from decisioning.bedrock import BedrockAgent
        from decisioning.tools import ToolPorts, read_tool_registry

        ports = ToolPorts.read_only(signals=db.signals(), graph=graph, memory=memory,
                                    snapshots=lake.normalized())
        return BedrockAgent(boto3.client("bedrock-runtime", region_name=self.bedrock_region),
                            read_tool_registry(ports))


class PolicyResource(dg.ConfigurableResource):
    """Cedar policies evaluated in-process (the files in decisioning/policies/)."""

    policy_dir: str | None = None

    def engine(self) -> CedarPolicyEngine:
        from decisioning.policy import CedarPolicyEngine

        return CedarPolicyEngine(Path(self.policy_dir) if self.policy_dir else None)


class ExecutorResource(dg.ConfigurableResource):
    """Executors: CRM write-back (the demo CRM, or HubSpot / Salesforce with per-tenant credentials
    from the environment or the secrets directory), notifications (the outbox always; Slack and SES
    when configured), brief artifacts."""

    artifacts_dir: str
    secrets_dir: str
    crm_writer: str = "demo"
    slack_webhook_url: str | None = None  # an EnvVar: the Dagster UI shows the variable, not the URL
    ses_sender: str | None = None
    ses_region: str | None = None
    hubspot_idempotency_property: str = "revloop_idempotency_key"
    salesforce_idempotency_field: str = "Revloop_Idempotency_Key__c"

    def executor(self, db: OperationalDbResource, world: DemoWorldResource) -> ActionExecutor:
        from actions.executors import ActionExecutor

        return ActionExecutor(db.proposals(), db.ledger(), self.crm(world), Path(self.artifacts_dir),
                              notifiers=self.notifiers())

    def crm(self, world: DemoWorldResource) -> CrmWriter:
        import os

        tenants, secrets = world.tenants, Path(self.secrets_dir)
        if self.crm_writer == "demo":
            return world.crm()
        if self.crm_writer == "hubspot":
            from actions.hubspot_writer import HubSpotCrmWriter, HubSpotWriteApi
            from connectors.credentials import hubspot_credentials

            return HubSpotCrmWriter({t: HubSpotWriteApi(hubspot_credentials(os.environ, secrets, t))
                                     for t in tenants}, self.hubspot_idempotency_property)
        if self.crm_writer == "salesforce":
            from actions.salesforce_writer import SalesforceCrmWriter, SalesforceWriteApi
            from connectors.credentials import salesforce_credentials

            return SalesforceCrmWriter({t: SalesforceWriteApi(salesforce_credentials(os.environ, secrets, t))
                                        for t in tenants}, self.salesforce_idempotency_field)
        raise ValueError(f"unknown CRM writer {self.crm_writer!r} (REVLOOP_CRM_WRITER): "
                         "use demo, hubspot or salesforce")

    def notifiers(self) -> list[Notifier]:
        found: list[Notifier] = []
        if self.slack_webhook_url:
            from actions.notify_slack import SlackWebhookNotifier

            found.append(SlackWebhookNotifier(self.slack_webhook_url))
        if self.ses_sender:
            import boto3
            from botocore.config import Config

            from actions.notify_ses import SesEmailNotifier

            client = boto3.client("sesv2", region_name=self.ses_region,
                                  config=Config(retries={"mode": "standard"}))
            found.append(SesEmailNotifier(client, self.ses_sender))
        return found


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
        "db": OperationalDbResource(url=sqlite_url(paths.state_db),
                                    webhook_sqs_queue_url=settings.webhook_sqs_queue_url,
                                    webhook_sqs_dead_letter_url=settings.webhook_sqs_dead_letter_url,
                                    webhook_sqs_endpoint_url=settings.webhook_sqs_endpoint_url,
                                    webhook_max_attempts=settings.webhook_max_attempts),
        "demo_world": DemoWorldResource(root=str(paths.demo_world), tenants=settings.tenants,
                                        accounts_per_tenant=settings.demo_accounts_per_tenant,
                                        seed=settings.demo_seed, event_rate=settings.demo_event_rate),
        "lake": LakeResource(root=str(paths.lake), raw_uri=settings.raw_store_uri),
        "sources": SourcesResource(crm_source=settings.crm_source, state_url=sqlite_url(paths.state_db),
                                   secrets_dir=str(paths.secrets)),
        "signal_rules": SignalRulesResource(thresholds_file=str(settings.signal_thresholds_file)
                                            if settings.signal_thresholds_file else None),
        "graph": SituationGraphResource(path=str(paths.graph_db), neptune_host=settings.neptune_host,
                                        neptune_region=settings.neptune_region,
                                        neptune_port=settings.neptune_port),
        "memory": SemanticMemoryResource(
            path=str(paths.vectors), embedding_model=settings.embedding_model, embedder=settings.embedder,
            bedrock_region=settings.bedrock_region, pinecone_index_host=settings.pinecone_index_host,
            pinecone_api_key=dg.EnvVar("REVLOOP_PINECONE_API_KEY") if settings.pinecone_index_host else None),
        "agent": DecisionAgentResource(agent=settings.decision_agent, bedrock_region=settings.bedrock_region),
        "policy": PolicyResource(),
        "executors": ExecutorResource(
            artifacts_dir=str(paths.artifacts), secrets_dir=str(paths.secrets),
            crm_writer=settings.crm_writer,
            slack_webhook_url=dg.EnvVar("REVLOOP_SLACK_WEBHOOK_URL") if settings.slack_webhook_url else None,
            ses_sender=settings.ses_sender, ses_region=settings.ses_region),
        "warehouse": WarehouseResource(catalog_db=str(paths.iceberg_catalog),
                                       warehouse_dir=str(paths.iceberg_warehouse)),
    }
