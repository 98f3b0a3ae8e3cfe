"""DemoWorld: a seeded simulator of tenants' CRM and product usage that advances one day at a time.

State lives in `root/world.sqlite`, so any process can open the world and advance it. After every
day (and on create, for day 0) it writes the exports the DemoConnector reads, and appends the events
it injected to `root/ground_truth.jsonl`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, Engine, delete, func, select, update

from connectors.demo import state as st
from connectors.demo.activities import expired_activities, log_activities
from connectors.demo.catalog import ACTIVITY_WINDOW_DAYS, EPOCH, USAGE_WINDOW_DAYS, day_of, index_of
from connectors.demo.conditions import condition_events, holding_conditions
from connectors.demo.events import CONDITION_KINDS, GroundTruthEvent
from connectors.demo.export import usage_frame, write_exports
from connectors.demo.generate import UsageDynamics, populate
from connectors.demo.injections import inject_events
from connectors.demo.simulate import DayContext, apply_crm_noise, draw_usage

_EVENT_STREAM, _USAGE_STREAM, _EXPORT_STREAM, _CREATE_STREAM, _ACTIVITY_STREAM = 1, 2, 3, 4, 5
_CRM_OBJECTS = ("accounts", "contacts", "opportunities", "tasks", "activities")
_USAGE_KINDS = ("usage_drop", "expansion_intent")
_DAY_OFFSET = 1000  # seed sequences take non-negative ints; pre-history days are negative


class DemoWorldError(RuntimeError):
    """The demo world at a path is missing or does not match what was asked for."""


@dataclass(frozen=True)
class WorldParams:
    tenants: list[str]
    accounts_per_tenant: int
    seed: int
    event_rate: float
    corruption_rate: float


class DemoWorld:
    """Open with :meth:`create` (idempotent) or :meth:`open`; never construct directly."""

    def __init__(self, root: Path, engine: Engine, params: WorldParams) -> None:
        self.root = root
        self._engine = engine
        self.params = params

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def create(cls, root: Path, tenants: list[str], accounts_per_tenant: int, seed: int,
               event_rate: float, corruption_rate: float = 0.0) -> DemoWorld:
        if not tenants or len(set(tenants)) != len(tenants):
            raise ValueError(f"tenants must be a non-empty list of distinct ids, got {tenants!r}")
        if accounts_per_tenant < 1:
            raise ValueError("accounts_per_tenant must be at least 1")
        if not (0.0 <= event_rate <= 1.0 and 0.0 <= corruption_rate <= 1.0):
            raise ValueError("event_rate and corruption_rate must be between 0 and 1")
        params = WorldParams(list(tenants), accounts_per_tenant, seed, event_rate, corruption_rate)
        root.mkdir(parents=True, exist_ok=True)
        engine = st.world_engine(root)
        with engine.begin() as conn:
            stored = st.get_meta(conn, "params")
            if stored is not None:
                existing = WorldParams(**json.loads(stored))
                if existing != params:
                    raise DemoWorldError(
                        f"a demo world already exists at {root} with {existing}, not {params}; "
                        "open it with DemoWorld.open, or create the new one under another directory")
            else:
                for index, tenant in enumerate(params.tenants):
                    _populate_tenant(conn, params, index, tenant)
                st.set_meta(conn, "params", json.dumps(asdict(params)))
                st.set_meta(conn, "current_day", "0")
        world = cls(root, engine, params)
        world._ensure_outputs()
        return world

    @classmethod
    def open(cls, root: Path) -> DemoWorld:
        if not (root / "world.sqlite").exists():
            raise DemoWorldError(f"no demo world at {root}: create one with DemoWorld.create(...) first")
        engine = st.world_engine(root)
        with engine.begin() as conn:
            stored = st.get_meta(conn, "params")
        if stored is None:
            raise DemoWorldError(f"{root / 'world.sqlite'} holds no demo world: create one first")
        return cls(root, engine, WorldParams(**json.loads(stored)))

    # -- properties ------------------------------------------------------------------------
    @property
    def tenants(self) -> list[str]:
        return list(self.params.tenants)

    @property
    def size(self) -> int:
        """Accounts per tenant."""
        return self.params.accounts_per_tenant

    @property
    def current_day(self) -> date:
        with self._engine.begin() as conn:
            return day_of(int(st.get_meta(conn, "current_day") or 0))

    def export_dir(self, tenant: str, day: date | None = None) -> Path:
        return self.root / "exports" / tenant / (day or self.current_day).isoformat()

    # -- simulation ------------------------------------------------------------------------
    def advance_day(self) -> list[GroundTruthEvent]:
        """Move the clock one day, inject events, write that day's exports; returns the events."""
        self._ensure_outputs()
        injected: list[GroundTruthEvent] = []
        with self._engine.begin() as conn:
            day = int(st.get_meta(conn, "current_day") or 0) + 1
            for index, tenant in enumerate(self.params.tenants):
                injected.extend(self._advance_tenant(conn, index, tenant, day))
            st.set_meta(conn, "current_day", str(day))
        self._ensure_outputs()
        return injected

    def ground_truth(self, since_day: date | None = None) -> list[GroundTruthEvent]:
        query = select(st.events).order_by(st.events.c.id)
        if since_day is not None:
            query = query.where(st.events.c.day >= index_of(since_day))
        with self._engine.begin() as conn:
            rows = conn.execute(query).all()
        return [GroundTruthEvent(tenant=r.tenant, day=day_of(r.day), kind=r.kind, account_id=r.account_id,
                                 entity_type=r.entity_type, entity_id=r.entity_id,
                                 details=json.loads(r.details)) for r in rows]

    def _advance_tenant(self, conn: Connection, index: int, tenant: str, day: int) -> list[GroundTruthEvent]:
        p = self.params
        records = {o: st.load_records(conn, tenant, o) for o in (*_CRM_OBJECTS, "products")}
        usage = _load_usage(conn, tenant)
        recent = conn.execute(select(st.events.c.kind, st.events.c.account_id, st.events.c.entity_type,
                                     st.events.c.entity_id, st.events.c.day)
                              .where(st.events.c.tenant == tenant, st.events.c.day >= day - 60)).all()
        last: dict[str, int] = {}
        last_condition: dict[str, int] = {}
        for r in recent:
            if r.kind in CONDITION_KINDS:
                key, into = f"{r.kind}|{r.entity_id}", last_condition
            else:
                key = f"usage:{r.account_id}" if r.kind in _USAGE_KINDS else f"{r.entity_type}:{r.entity_id}"
                into = last
            into[key] = max(into.get(key, r.day), r.day)
        counters = {o: int(st.get_meta(conn, f"counter:{tenant}:{o}") or 0)
                    for o in ("contacts", "opportunities", "activities")}
        ctx = DayContext(tenant, day, p.event_rate, _rng(p.seed, index, _EVENT_STREAM, day), records,
                         usage, counters, last)
        injected = inject_events(ctx)
        apply_crm_noise(ctx)
        ctx.rng = _rng(p.seed, index, _USAGE_STREAM, day)
        active, seats = draw_usage(ctx)
        logged = log_activities(tenant, day, _rng(p.seed, index, _ACTIVITY_STREAM, day), records, counters)
        for activity in logged:
            ctx.changed.setdefault("activities", set()).add(activity.record_id)
        expired = expired_activities(records["activities"], day, ACTIVITY_WINDOW_DAYS)
        for record_id in expired:  # the truth sees what the export shows
            del records["activities"][record_id]
        if expired:
            conn.execute(delete(st.records).where(st.records.c.tenant == tenant,
                                                  st.records.c.object == "activities",
                                                  st.records.c.record_id.in_(expired)))
        injected += _condition_events(conn, tenant, day, records, last_condition)
        for object_, ids in ctx.changed.items():
            st.save_records(conn, tenant, object_, (records[object_][i] for i in sorted(ids)))
        for key in sorted(k for k in ctx.touched if k.startswith("account:")):
            rows = np.flatnonzero(usage.account_id == key.removeprefix("account:"))
            for i in rows:
                conn.execute(update(st.usage_state).where(
                    st.usage_state.c.tenant == tenant, st.usage_state.c.account_id == usage.account_id[i],
                    st.usage_state.c.product == usage.product[i],
                ).values(level=float(usage.level[i]), seat_ratio=float(usage.seat_ratio[i])))
        _insert_usage(conn, tenant, day, usage, active, seats)
        conn.execute(delete(st.usage_daily).where(st.usage_daily.c.tenant == tenant,
                                                  st.usage_daily.c.day <= day - USAGE_WINDOW_DAYS))
        for object_, n in counters.items():
            st.set_meta(conn, f"counter:{tenant}:{object_}", str(n))
        if injected:
            conn.execute(st.events.insert(), [
                {"tenant": e.tenant, "day": index_of(e.day), "kind": e.kind, "account_id": e.account_id,
                 "entity_type": e.entity_type, "entity_id": e.entity_id,
                 "details": json.dumps(e.details, sort_keys=True)} for e in injected])
        return injected

    # -- outputs (idempotent, so a crash between commit and export heals on the next call) ---
    def _ensure_outputs(self) -> None:
        with self._engine.begin() as conn:
            day = int(st.get_meta(conn, "current_day") or 0)
            for index, tenant in enumerate(self.params.tenants):
                if self.export_dir(tenant, day_of(day)).exists():
                    continue
                records = {o: st.load_records(conn, tenant, o) for o in _CRM_OBJECTS}
                rows = conn.execute(
                    select(st.usage_daily.c.day, st.usage_daily.c.account_id, st.usage_daily.c.product,
                           st.usage_daily.c.active_users, st.usage_daily.c.seats_used)
                    .where(st.usage_daily.c.tenant == tenant)
                    .order_by(st.usage_daily.c.day, st.usage_daily.c.account_id, st.usage_daily.c.product)
                ).all()
                write_exports(self.root, tenant, day_of(day), records,
                              usage_frame([tuple(r) for r in rows], EPOCH), self.params.corruption_rate,
                              _rng(self.params.seed, index, _EXPORT_STREAM, day))
            total = conn.execute(select(func.count()).select_from(st.events)).scalar_one()
        self._sync_ground_truth_file(total)

    def _sync_ground_truth_file(self, total: int) -> None:
        path = self.root / "ground_truth.jsonl"
        have = sum(1 for _ in path.open(encoding="utf-8")) if path.exists() else 0
        if have == total:
            return
        truth = self.ground_truth()
        if have < total and have > 0:
            with path.open("a", encoding="utf-8") as fh:
                fh.writelines(e.model_dump_json() + "\n" for e in truth[have:])
            return
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(e.model_dump_json() + "\n" for e in truth), encoding="utf-8")
        tmp.replace(path)


def _condition_events(conn: Connection, tenant: str, day: int, records: dict[str, dict[str, st.Record]],
                      last_event_day: dict[str, int]) -> list[GroundTruthEvent]:
    """Conditions that became true today; the set holding yesterday is kept in the world's meta."""
    now = holding_conditions(records, day)
    before = set(json.loads(st.get_meta(conn, f"conditions:{tenant}") or "[]"))
    st.set_meta(conn, f"conditions:{tenant}", json.dumps(sorted(now)))
    return condition_events(tenant, day, before, now, last_event_day)


def _rng(seed: int, tenant_index: int, stream: int, day: int) -> np.random.Generator:
    return np.random.default_rng([seed, tenant_index, stream, day + _DAY_OFFSET])


def _load_usage(conn: Connection, tenant: str) -> UsageDynamics:
    rows = conn.execute(select(st.usage_state).where(st.usage_state.c.tenant == tenant)
                        .order_by(st.usage_state.c.account_id, st.usage_state.c.product)).all()
    return UsageDynamics(np.array([r.account_id for r in rows], dtype=object),
                         np.array([r.product for r in rows], dtype=object),
                         np.array([r.base_active for r in rows], dtype=float),
                         np.array([r.level for r in rows], dtype=float),
                         np.array([r.seat_ratio for r in rows], dtype=float))


def _insert_usage(conn: Connection, tenant: str, day: int, usage: UsageDynamics, active: np.ndarray,
                  seats: np.ndarray) -> None:
    conn.execute(st.usage_daily.insert(), [
        {"tenant": tenant, "day": day, "account_id": a, "product": p, "active_users": int(u),
         "seats_used": int(s)}
        for a, p, u, s in zip(usage.account_id, usage.product, active, seats, strict=True)])


def _populate_tenant(conn: Connection, params: WorldParams, index: int, tenant: str) -> None:
    population = populate(tenant, _rng(params.seed, index, _CREATE_STREAM, 0), params.accounts_per_tenant)
    for object_, items in population.records.items():
        st.insert_records(conn, tenant, object_, items.values())
    usage = population.usage
    assert usage is not None
    conn.execute(st.usage_state.insert(), [
        {"tenant": tenant, "account_id": a, "product": p, "base_active": float(b), "level": 1.0,
         "seat_ratio": float(r)}
        for a, p, b, r in zip(usage.account_id, usage.product, usage.base_active, usage.seat_ratio,
                              strict=True)])
    for object_, n in population.counters.items():
        st.set_meta(conn, f"counter:{tenant}:{object_}", str(n))
    ctx = DayContext(tenant, 0, 0.0, _rng(params.seed, index, _USAGE_STREAM, 0), population.records, usage,
                     population.counters, {})
    for day in range(1 - USAGE_WINDOW_DAYS, 1):
        ctx.rng = _rng(params.seed, index, _USAGE_STREAM, day)
        active, seats = draw_usage(ctx)
        _insert_usage(conn, tenant, day, usage, active, seats)
    # two weeks of engagement history, so day 0 already shows every deal's cadence
    for day in range(-13, 1):
        log_activities(tenant, day, _rng(params.seed, index, _ACTIVITY_STREAM, day), population.records,
                       population.counters)
    st.insert_records(conn, tenant, "activities", population.records["activities"].values())
    st.set_meta(conn, f"counter:{tenant}:activities", str(population.counters["activities"]))
    _condition_events(conn, tenant, 0, population.records, {})  # what holds on day 0 is no event
