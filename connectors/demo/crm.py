"""The demo CRM's write API (what executors call): read a record, create a task, update a field.

Every write carries an idempotency key. The first write under a key mutates the record and stores its
result in the same transaction; every repeat returns that stored result (created=False) and changes
nothing. A UNIQUE (tenant, key) constraint backs this up where transactions are not serialised."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from connectors.demo import state as st
from connectors.demo.catalog import CONTACT_STATUSES, CRM_OBJECTS, ROLES, STAGES, WRITABLE_FIELDS, day_of


class CrmError(Exception):
    """A CRM write or read that cannot be done as asked (unknown tenant, object, record or field)."""


class CrmConflictError(CrmError):
    """The record changed since the caller read it (expected_version does not match)."""


class CrmIdempotencyError(CrmError):
    """An idempotency key was reused for a different request."""


@dataclass(frozen=True)
class CrmWriteResult:
    external_id: str
    created: bool
    before: dict[str, Any]
    after: dict[str, Any]


_NUMERIC = {"arr", "amount"}
_INTEGER = {"seats_licensed"}
_DATES = {"renewal_date", "close_date", "due_date"}
_ENUMS = {"stage": STAGES, "role": ROLES, "status": CONTACT_STATUSES}


class DemoCrm:
    def __init__(self, root: Path) -> None:
        if not (root / "world.sqlite").exists():
            raise CrmError(f"no demo world at {root}: create one with DemoWorld.create(...) first")
        self._engine = st.world_engine(root)
        with self._engine.begin() as conn:
            params = st.get_meta(conn, "params")
        if params is None:
            raise CrmError(f"{root / 'world.sqlite'} holds no demo world: create one first")
        self._tenants = set(json.loads(params)["tenants"])

    def get_record(self, tenant: str, object: str, record_id: str) -> dict[str, Any] | None:
        self._check(tenant, object)
        with self._engine.begin() as conn:
            record = _load(conn, tenant, object, record_id)
        return record.as_dict() if record else None

    def tasks(self, tenant: str) -> list[dict[str, Any]]:
        self._check(tenant, "tasks")
        with self._engine.begin() as conn:
            return [r.as_dict() for r in st.load_records(conn, tenant, "tasks").values()]

    def mutation_count(self, tenant: str) -> int:
        with self._engine.begin() as conn:
            return conn.execute(select(func.count()).select_from(st.crm_writes)
                                .where(st.crm_writes.c.tenant == tenant)).scalar_one()

    def create_task(self, tenant: str, account_id: str, subject: str, body: str, due_date: str | None,
                    owner: str | None, idempotency_key: str) -> CrmWriteResult:
        self._check(tenant, "tasks")
        if due_date is not None:
            _coerce("due_date", due_date)
        request = {"op": "create_task", "account_id": account_id, "subject": subject, "body": body,
                   "due_date": due_date, "owner": owner}

        def mutate(conn: Connection) -> CrmWriteResult:
            account = _load(conn, tenant, "accounts", account_id)
            if account is None:
                raise CrmError(f"tenant {tenant!r} has no account {account_id!r}; cannot attach a task")
            counter_key = f"counter:{tenant}:tasks"
            n = int(st.get_meta(conn, counter_key) or 0)
            st.set_meta(conn, counter_key, str(n + 1))
            today = day_of(int(st.get_meta(conn, "current_day") or 0)).isoformat()
            task = st.Record(f"{tenant}-task-{n:06d}", account_id, 1, {
                "account_id": account_id, "subject": subject, "body": body, "due_date": due_date,
                "owner_email": owner or account.data["owner_email"], "status": "open",
                "created_day": today, "idempotency_key": idempotency_key})
            st.insert_records(conn, tenant, "tasks", [task])
            return CrmWriteResult(task.record_id, True, {}, task.as_dict())

        return self._write(tenant, idempotency_key, request, mutate)

    def update_field(self, tenant: str, object: str, record_id: str, field: str, value: Any,
                     idempotency_key: str, expected_version: int | None = None) -> CrmWriteResult:
        self._check(tenant, object)
        if field not in WRITABLE_FIELDS[object]:
            raise CrmError(f"{object} has no writable field {field!r}; writable: "
                           f"{sorted(WRITABLE_FIELDS[object])}")
        coerced = _coerce(field, value)
        request = {"op": "update_field", "object": object, "record_id": record_id, "field": field,
                   "value": coerced, "expected_version": expected_version}

        def mutate(conn: Connection) -> CrmWriteResult:
            record = _load(conn, tenant, object, record_id)
            if record is None:
                raise CrmError(f"tenant {tenant!r} has no {object} record {record_id!r}")
            if expected_version is not None and record.version != expected_version:
                raise CrmConflictError(
                    f"{object} {record_id} is at version {record.version}, not {expected_version}: "
                    "it changed since it was read; re-read it and decide again")
            before = record.as_dict()
            if object == "opportunities" and field == "stage" and record.data.get("stage") != coerced:
                today = day_of(int(st.get_meta(conn, "current_day") or 0)).isoformat()
                record.data["stage_changed_on"] = today  # as a CRM stamps LastStageChangeDate
            record.data[field] = coerced
            record.version += 1
            st.save_records(conn, tenant, object, [record])
            return CrmWriteResult(record_id, True, before, record.as_dict())

        return self._write(tenant, idempotency_key, request, mutate)

    # -- internals -------------------------------------------------------------------------
    def _check(self, tenant: str, object_: str) -> None:
        if tenant not in self._tenants:
            raise CrmError(f"unknown tenant {tenant!r}; the demo CRM holds {sorted(self._tenants)}")
        if object_ not in CRM_OBJECTS:
            raise CrmError(f"unknown object {object_!r}; the demo CRM has {list(CRM_OBJECTS)}")

    def _write(self, tenant: str, key: str, request: dict[str, Any], mutate: Any) -> CrmWriteResult:
        if not key:
            raise CrmError("an idempotency key is required for every CRM write")
        digest = hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()
        for _ in range(2):
            try:
                with self._engine.begin() as conn:
                    stored = _stored(conn, tenant, key, digest)
                    if stored is not None:
                        return stored
                    result = mutate(conn)
                    conn.execute(st.crm_writes.insert(), [{
                        "tenant": tenant, "idempotency_key": key, "request_digest": digest,
                        "result": json.dumps({"external_id": result.external_id, "before": result.before,
                                              "after": result.after}),
                        "created_at": datetime.now(UTC).isoformat()}])
                    return result
            except IntegrityError:
                continue  # a concurrent writer claimed the key first: read its result
        with self._engine.begin() as conn:
            stored = _stored(conn, tenant, key, digest)
        if stored is None:
            raise CrmError(f"idempotency key {key!r} could not be claimed or read")
        return stored


def _stored(conn: Connection, tenant: str, key: str, digest: str) -> CrmWriteResult | None:
    row = conn.execute(select(st.crm_writes.c.request_digest, st.crm_writes.c.result).where(
        st.crm_writes.c.tenant == tenant, st.crm_writes.c.idempotency_key == key)).first()
    if row is None:
        return None
    if row.request_digest != digest:
        raise CrmIdempotencyError(f"idempotency key {key!r} was already used for a different request; "
                                  "use a new key for a new write")
    saved = json.loads(row.result)
    return CrmWriteResult(saved["external_id"], False, saved["before"], saved["after"])


def _load(conn: Connection, tenant: str, object_: str, record_id: str) -> st.Record | None:
    row = conn.execute(select(st.records).where(
        st.records.c.tenant == tenant, st.records.c.object == object_,
        st.records.c.record_id == record_id)).first()
    return st.Record(row.record_id, row.account_id, row.version, json.loads(row.data)) if row else None


def _coerce(field: str, value: Any) -> Any:
    try:
        if field in _NUMERIC:
            number = float(value)
            if number < 0:
                raise ValueError("must not be negative")
            return number
        if field in _INTEGER:
            if isinstance(value, bool) or int(value) != float(value) or int(value) < 0:
                raise ValueError("must be a non-negative whole number")
            return int(value)
        if field in _DATES:
            return date.fromisoformat(str(value)).isoformat()
    except (TypeError, ValueError) as exc:
        raise CrmError(f"invalid value {value!r} for {field}: {exc}") from exc
    if field in _ENUMS and value not in _ENUMS[field]:
        raise CrmError(f"invalid value {value!r} for {field}; allowed: {list(_ENUMS[field])}")
    if not isinstance(value, str):
        raise CrmError(f"invalid value {value!r} for {field}: expected text")
    return value
