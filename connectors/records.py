"""What a pull connector hands to perception: one raw snapshot of one tenant's objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import polars as pl

# Objects every CRM/telemetry pull connector returns (missing ones are empty frames).
RAW_OBJECTS: tuple[str, ...] = ("accounts", "contacts", "opportunities", "activities", "usage")


@dataclass(frozen=True)
class RawSnapshot:
    """An immutable pull: (tenant, source, pulled_at) addresses it; objects hold the rows as sent."""

    tenant: str
    source: str
    pulled_at: datetime
    objects: dict[str, pl.DataFrame] = field(default_factory=dict)

    def row_counts(self) -> dict[str, int]:
        return {name: frame.height for name, frame in self.objects.items()}


class PullConnector(Protocol):
    """A source the loop pulls snapshots from (demo files today; HubSpot/Salesforce later)."""

    source: str

    def pull(self, tenant: str) -> RawSnapshot: ...
