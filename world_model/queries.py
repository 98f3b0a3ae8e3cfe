"""What the decision agent asks the situation graph, each answer with the graph paths it rests on.

Every query starts at the account's tenant-scoped key and re-checks ``has('tenant', t)`` at every hop,
so an edge that (by corruption) pointed into another tenant would still not be followed. Paths list
vertices and edge labels in the order walked from the account, e.g. ``["Account:a1", "WORKS_AT",
"Contact:c1", "INVOLVES", "Event:activity:e7", "ON_OPPORTUNITY", "Opportunity:o1"]``."""

from __future__ import annotations

from collections import Counter

from gremlin_python.process.graph_traversal import GraphTraversal, GraphTraversalSource, __

from world_model.contracts import (
    AccountNeighbourhood,
    BuyingCommittee,
    CommitteeMember,
    EventView,
    GraphPath,
    OpportunityHistory,
    ProductUsage,
    RiskView,
    StageChange,
)
from world_model.graph_schema import (
    ACCOUNT,
    AFFECTS,
    CHAMPION_OF,
    EVENT,
    EVIDENCES,
    HAS_OPPORTUNITY,
    INVOLVES,
    OCCURRED_AT,
    ON_OPPORTUNITY,
    OPPORTUNITY,
    USES,
    WORKS_AT,
    describe_key,
    is_open_stage,
    key_id,
    vertex_key,
)
from world_model.stage_history import STAGE_CHANGE
from world_model.tenancy import validate_tenant
from world_model.views import Props, contact_view, first_values, integer, opportunity_view, text

_ROLE_ORDER = {"champion": 0, "economic_buyer": 1}
_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def _path(*steps: str) -> GraphPath:
    return GraphPath(steps=list(steps))


def _stage_change(props: Props) -> StageChange:
    return StageChange(sequence=integer(props, "sequence") or 0, from_stage=text(props, "from_stage"),
                       to_stage=str(props.get("to_stage", "")), occurred_on=text(props, "occurred_on"))


class GraphQueries:
    """Typed, tenant-scoped reads of one account's situation."""

    def __init__(self, g: GraphTraversalSource) -> None:
        self._g = g

    def _start(self, tenant: str, account_id: str) -> tuple[str, str]:
        validate_tenant(tenant)
        return vertex_key(tenant, ACCOUNT, account_id), f"Account:{account_id}"

    def _linked(self, key: str, tenant: str, label: str, **links: GraphTraversal) -> list[dict]:
        """Vertices with a ``label`` edge into ``key``: their key, properties and, per link, the keys of
        the tenant's vertices one step along it."""
        t = self._g.V().has("key", key).in_(label).has("tenant", tenant) \
            .project("key", "props", *links).by("key").by(__.valueMap())
        for step in links.values():
            t = t.by(step.has("tenant", tenant).values("key").fold())
        return t.toList()

    def neighbourhood(self, tenant: str, account_id: str) -> AccountNeighbourhood:
        """The account's properties, products used (latest usage day) and one-hop neighbour counts."""
        key, here = self._start(tenant, account_id)
        rows = self._g.V().has("key", key).valueMap().toList()
        if not rows:
            return AccountNeighbourhood(tenant=tenant, account_id=account_id, found=False)
        props = first_values(rows[0])
        props.pop("key", None)
        props.pop("tenant", None)
        uses = (
            self._g.V().has("key", key).outE(USES).as_("e").inV().has("tenant", tenant)
            .project("name", "key", "usage").by("name").by("key").by(__.select("e").valueMap())
            .toList()
        )
        products = sorted(
            (ProductUsage(product=str(u["name"]), last_day=text(first_values(u["usage"]), "last_day"),
                          active_users=integer(first_values(u["usage"]), "active_users"),
                          seats_used=integer(first_values(u["usage"]), "seats_used")) for u in uses),
            key=lambda p: p.product,
        )
        neighbours = set(self._g.V().has("key", key).both().has("tenant", tenant).values("key").toList())
        labels = [describe_key(k).split(":", 1)[0] for k in neighbours]
        return AccountNeighbourhood(
            tenant=tenant, account_id=account_id, found=True, properties=props, products=products,
            neighbours=dict(sorted(Counter(labels).items())),
            paths=[_path(here, USES, describe_key(u["key"])) for u in sorted(uses, key=lambda u: u["key"])],
        )

    def buying_committee(self, tenant: str, account_id: str) -> BuyingCommittee:
        """Everyone who works at the account (departed people included, their status says so), with
        the deals they took part in; champions first, then economic buyers."""
        key, here = self._start(tenant, account_id)
        rows = (
            self._g.V().has("key", key).in_(WORKS_AT).has("tenant", tenant)
            .project("props", "champion", "events")
            .by(__.valueMap())
            .by(__.out(CHAMPION_OF).has("key", key).count())
            .by(__.in_(INVOLVES).has("tenant", tenant).project("key", "opps", "on")
                .by("key").by(__.out(ON_OPPORTUNITY).has("tenant", tenant).values("key").fold())
                .by(__.valueMap("occurred_on")).fold())
            .toList()
        )
        members = []
        for row in rows:
            contact = contact_view(first_values(row["props"]))
            at = f"Contact:{contact.contact_id}"
            paths = [_path(here, WORKS_AT, at)]
            if row["champion"]:
                paths.append(_path(here, CHAMPION_OF, at))
            opportunity_ids: set[str] = set()
            for event in sorted(row["events"], key=lambda e: e["key"]):
                for opp in sorted(event["opps"]):
                    opportunity_ids.add(key_id(opp))
                    paths.append(_path(here, WORKS_AT, at, INVOLVES, describe_key(event["key"]),
                                       ON_OPPORTUNITY, describe_key(opp)))
            engaged = [str(first_values(e["on"])["occurred_on"]) for e in row["events"] if e["on"]]
            members.append(CommitteeMember(
                contact=contact, is_champion=bool(row["champion"]), opportunity_ids=sorted(opportunity_ids),
                last_engaged_on=max(engaged) if engaged else None, paths=paths))
        members.sort(key=lambda m: (not m.is_champion, _ROLE_ORDER.get(m.contact.role or "", 2),
                                    m.contact.status != "active", m.contact.contact_id))
        champions = [m for m in members if m.is_champion]
        return BuyingCommittee(
            tenant=tenant, account_id=account_id, members=members,
            champion=champions[0].contact if champions else None,
            economic_buyers=[m.contact for m in members
                             if m.contact.role == "economic_buyer" and m.contact.status == "active"],
            paths=[p for m in members for p in m.paths[:2]],
        )

    def open_opportunities(self, tenant: str, account_id: str) -> list[OpportunityHistory]:
        """Open deals with the stages the graph has seen them enter, oldest first."""
        key, here = self._start(tenant, account_id)
        rows = (
            self._g.V().has("key", key).out(HAS_OPPORTUNITY).has("tenant", tenant)
            .project("props", "stages")
            .by(__.valueMap())
            .by(__.in_(ON_OPPORTUNITY).has("tenant", tenant).has("event_type", STAGE_CHANGE)
                .project("key", "props").by("key").by(__.valueMap()).fold())
            .toList()
        )
        out = []
        for row in rows:
            props = first_values(row["props"])
            if not is_open_stage(text(props, "stage")):
                continue
            opportunity = opportunity_view(props)
            at = f"{OPPORTUNITY}:{opportunity.opportunity_id}"
            stages = sorted(((s["key"], first_values(s["props"])) for s in row["stages"]),
                            key=lambda s: integer(s[1], "sequence") or 0)
            out.append(OpportunityHistory(
                opportunity=opportunity, stage_changed_on=text(props, "stage_changed_on"),
                stage_history=[_stage_change(p) for _, p in stages],
                paths=[_path(here, HAS_OPPORTUNITY, at)]
                + [_path(here, HAS_OPPORTUNITY, at, ON_OPPORTUNITY, describe_key(k)) for k, _ in stages],
            ))
        return sorted(out, key=lambda o: o.opportunity.opportunity_id)

    def risks(self, tenant: str, account_id: str) -> list[RiskView]:
        """Risks on the account, most severe and most recent first, with the signals evidencing them."""
        key, here = self._start(tenant, account_id)
        rows = self._linked(key, tenant, AFFECTS, signals=__.in_(EVIDENCES), affects=__.out(AFFECTS))
        out = []
        for row in rows:
            props = first_values(row["props"])
            risk = describe_key(row["key"])
            targets = sorted(describe_key(k) for k in row["affects"] if k != key)
            paths = [_path(here, AFFECTS, risk, AFFECTS, t) for t in targets]
            paths += [_path(here, AFFECTS, risk, EVIDENCES, describe_key(s)) for s in sorted(row["signals"])]
            out.append(RiskView(
                risk_id=key_id(row["key"]), kind=str(props["kind"]), severity=str(props["severity"]),
                entity_type=str(props["entity_type"]), entity_id=str(props["entity_id"]),
                first_seen_at=str(props["first_seen_at"]), last_seen_at=str(props["last_seen_at"]),
                signal_ids=sorted(key_id(s) for s in row["signals"]),
                paths=paths or [_path(here, AFFECTS, risk)],
            ))
        out.sort(key=lambda r: r.last_seen_at, reverse=True)
        return sorted(out, key=lambda r: _SEVERITY_ORDER.get(r.severity, 3))

    def recent_events(self, tenant: str, account_id: str, limit: int = 20) -> list[EventView]:
        """The account's newest events (activities and stage changes), newest first."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        key, here = self._start(tenant, account_id)
        rows = self._linked(key, tenant, OCCURRED_AT, contacts=__.out(INVOLVES), opps=__.out(ON_OPPORTUNITY))
        rows.sort(key=lambda r: (str(first_values(r["props"]).get("occurred_on", "")), r["key"]),
                  reverse=True)
        out = []
        for row in rows[:limit]:
            props = first_values(row["props"])
            at = describe_key(row["key"])
            linked = sorted(row["contacts"]) + sorted(row["opps"])
            out.append(EventView(
                event_id=key_id(row["key"]), event_type=str(props.get("event_type", EVENT.lower())),
                occurred_on=text(props, "occurred_on"), subject=text(props, "subject"),
                direction=text(props, "direction"), from_stage=text(props, "from_stage"),
                to_stage=text(props, "to_stage"), contact_ids=sorted(key_id(k) for k in row["contacts"]),
                opportunity_ids=sorted(key_id(k) for k in row["opps"]),
                paths=[_path(here, OCCURRED_AT, at, INVOLVES if "|Contact|" in k else ON_OPPORTUNITY,
                             describe_key(k)) for k in linked] or [_path(here, OCCURRED_AT, at)],
            ))
        return out
