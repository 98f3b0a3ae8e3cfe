"""Each tenant's HubSpot deal stages (stage id -> label), saved at every pull.

HubSpot's webhooks name a deal's new stage by its id. The pull resolves ids through the portal's
pipelines, and the webhook path reads the map the last pull saved. A webhook and a pull therefore name
a custom pipeline's stage alike. Before a tenant's first pull, only the default pipeline's ids are
known; a custom id is then refused with the reason and dead-lettered, and can be re-driven after it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import Column, MetaData, String, Table, delete, insert, select

from ledger.sql import READ_ONLY, make_engine

metadata = MetaData()

hubspot_deal_stages = Table(
    "hubspot_deal_stages", metadata,
    Column("tenant", String(128), primary_key=True),
    Column("stage_id", String(128), primary_key=True),
    Column("label", String(256), nullable=False),
    Column("saved_at", String(40), nullable=False),
)


class HubSpotStageLabels:
    """The stage table in the operational database (SQLite WAL embedded, PostgreSQL in AWS)."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        metadata.create_all(self.engine)

    def replace(self, tenant: str, labels: Mapping[str, str]) -> None:
        """The portal's stages now: stages it no longer has are dropped."""
        at = datetime.now(UTC).isoformat()
        with self.engine.begin() as conn:
            conn.execute(delete(hubspot_deal_stages).where(hubspot_deal_stages.c.tenant == tenant))
            if labels:
                conn.execute(insert(hubspot_deal_stages), [
                    {"tenant": tenant, "stage_id": stage_id, "label": label, "saved_at": at}
                    for stage_id, label in labels.items()])

    def get(self, tenant: str) -> dict[str, str]:
        query = select(hubspot_deal_stages.c.stage_id, hubspot_deal_stages.c.label).where(
            hubspot_deal_stages.c.tenant == tenant)
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            return {stage_id: label for stage_id, label in conn.execute(query)}
