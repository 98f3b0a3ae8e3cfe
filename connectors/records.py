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
    """An immutable pull: (tenant, source, pulled_at) addresses it; objects hold the rows as sent.

    ``complete`` is False for an incremental pull: its objects hold only the records changed since the
    last pull, so a record absent from it is unchanged, not deleted. Perception must upsert a partial
    snapshot onto the state it already has (never diff it as if absent rows were removed); deletions
    are only visible in a complete snapshot (a full resync). ``cursors`` holds the high-water mark this
    pull reached per vendor object; they are persisted (connectors.cursors) only after the snapshot is
    durably written."""

    tenant: str
    source: str
    pulled_at: datetime
    objects: dict[str, pl.DataFrame] = field(default_factory=dict)
    complete: bool = True
    cursors: dict[str, datetime] = field(default_factory=dict)

    def row_counts(self) -> dict[str, int]:
        return {name: frame.height for name, frame in self.objects.items()}


class PullConnector(Protocol):
    """A source the loop pulls snapshots from (demo files today; HubSpot/Salesforce later)."""

    source: str

    def pull(self, tenant: str) -> RawSnapshot: ...
