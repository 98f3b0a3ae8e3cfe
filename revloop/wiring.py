"""The composition root outside Dagster: builds the embedded adapters from the settings.

Dagster's resources (pipelines/resources.py) are built from the same settings by
``pipelines.resources.resources_for``, so both entry points wire the same engines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.sql import sqlite_url
from revloop.settings import Settings

if TYPE_CHECKING:
    from actions.store import OperationalStore
    from connectors.demo.world import DemoWorld
    from connectors.webhooks.secrets import WebhookSecretStore
    from ledger.iceberg import IcebergWarehouse
    from ledger.store import Ledger
    from perception.signal_store import SignalStore

WEBHOOK_SOURCES = ("demo", "hubspot")


def state_url(settings: Settings) -> str:
    return sqlite_url(settings.paths.state_db)


def ensure_demo_world(settings: Settings) -> DemoWorld:
    from connectors.demo.world import DemoWorld

    settings.paths.ensure()
    return DemoWorld.create(settings.paths.demo_world, tenants=settings.tenants,
                            accounts_per_tenant=settings.demo_accounts_per_tenant,
                            seed=settings.demo_seed, event_rate=settings.demo_event_rate)


def ensure_webhook_secrets(settings: Settings) -> WebhookSecretStore:
    from connectors.webhooks.secrets import ensure_local_secrets

    settings.paths.ensure()
    return ensure_local_secrets(settings.paths.secrets / "webhooks.json", settings.tenants,
                                list(WEBHOOK_SOURCES))


def open_ledger(settings: Settings) -> Ledger:
    from ledger.store import Ledger

    return Ledger(state_url(settings))


def open_signal_store(settings: Settings) -> SignalStore:
    from perception.signal_store import SignalStore

    return SignalStore(state_url(settings))


def open_operational_store(settings: Settings) -> OperationalStore:
    from actions.store import OperationalStore

    return OperationalStore(state_url(settings))


def open_warehouse(settings: Settings) -> IcebergWarehouse:
    from ledger.iceberg import IcebergWarehouse

    return IcebergWarehouse(settings.paths.iceberg_catalog, settings.paths.iceberg_warehouse)
