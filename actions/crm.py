"""The CRM write port the executors depend on (the demo CRM, HubSpot and Salesforce adapters fit it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

Client = TypeVar("Client")


class CrmConflictError(RuntimeError):
    """The record changed since the reviewer saw it (its version moved): nothing was written."""


class CrmWriteOutcome(Protocol):
    """What a CRM write returns: the record it touched, whether it was new, and its before/after."""

    @property
    def external_id(self) -> str: ...

    @property
    def created(self) -> bool: ...

    @property
    def before(self) -> dict[str, Any] | None: ...

    @property
    def after(self) -> dict[str, Any] | None: ...


class CrmWriter(Protocol):
    """Writes take an idempotency key: the same key twice must change the CRM at most once."""

    def get_record(self, tenant: str, object: str, record_id: str) -> dict[str, Any] | None: ...

    def create_task(self, tenant: str, account_id: str, subject: str, body: str, due_date: str | None,
                    owner: str | None, idempotency_key: str) -> CrmWriteOutcome: ...

    def update_field(self, tenant: str, object: str, record_id: str, field: str, value: Any,
                     idempotency_key: str, expected_version: int | None = None) -> CrmWriteOutcome: ...


@runtime_checkable
class CrmTaskCloser(Protocol):
    """Writers that can undo a created task (compensation) by closing it."""

    def close_task(self, tenant: str, task_id: str, idempotency_key: str) -> CrmWriteOutcome: ...


@dataclass(frozen=True)
class CrmWrite:
    """The CrmWriteOutcome the vendor adapters return."""

    external_id: str
    created: bool
    before: dict[str, Any]
    after: dict[str, Any]


def epoch_ms(at: datetime | None) -> int | None:
    """A vendor's last-modified instant as the integer record version approvals are bound to."""
    return int(at.timestamp() * 1000) if at else None


class TenantClients(Generic[Client]):
    """One vendor client per tenant (a portal, an org); an unconfigured tenant is a clear error."""

    def __init__(self, clients: Mapping[str, Client], what: str) -> None:
        self.clients = clients
        self.what = what

    def __call__(self, tenant: str) -> Client:
        client = self.clients.get(tenant)
        if client is None:
            raise ValueError(f"no {self.what} is configured for tenant {tenant!r}; configured: "
                             f"{sorted(self.clients)}")
        return client
