"""Reading one account's neighbourhood out of the situation graph, keeping the paths walked as evidence."""

from __future__ import annotations

from gremlin_python.process.graph_traversal import GraphTraversalSource

from world_model import traversals as tv
from world_model.contracts import AccountContext, GraphPath
from world_model.graph_schema import (
    ABOUT,
    ACCOUNT,
    CHAMPION_OF,
    HAS_OPPORTUNITY,
    RAISED,
    WORKS_AT,
    describe_key,
    is_open_stage,
    vertex_key,
)
from world_model.views import contact_view as _contact
from world_model.views import opportunity_view as _opportunity
from world_model.views import text as _str


def build_account_context(
    g: GraphTraversalSource, tenant: str, account_id: str, recent_signal_limit: int
) -> AccountContext:
    key = vertex_key(tenant, ACCOUNT, account_id)
    account = tv.vertex_props(g, key)
    if account is None:
        return AccountContext(tenant=tenant, account_id=account_id, name=None, owner=None)
    here = f"Account:{account_id}"
    paths: list[GraphPath] = []

    contacts = sorted(
        (_contact(p) for p in tv.neighbour_props(g, key, tenant, WORKS_AT, inbound=True)),
        key=lambda c: c.contact_id,
    )
    champions = sorted(
        (_contact(p) for p in tv.neighbour_props(g, key, tenant, CHAMPION_OF, inbound=True)),
        key=lambda c: c.contact_id,
    )
    opportunities = sorted(
        (_opportunity(p) for p in tv.neighbour_props(g, key, tenant, HAS_OPPORTUNITY, inbound=False)
         if is_open_stage(_str(p, "stage"))),
        key=lambda o: o.opportunity_id,
    )
    paths += [GraphPath(steps=[here, CHAMPION_OF, f"Contact:{c.contact_id}"]) for c in champions]
    paths += [GraphPath(steps=[here, WORKS_AT, f"Contact:{c.contact_id}"]) for c in contacts]
    paths += [GraphPath(steps=[here, HAS_OPPORTUNITY, f"Opportunity:{o.opportunity_id}"])
              for o in opportunities]

    signals = sorted(
        tv.raised_signals(g, key, tenant),
        key=lambda s: (str(s.get("observed_at", "")), s["key"]),
        reverse=True,
    )[:recent_signal_limit]
    signal_ids: list[str] = []
    for signal in signals:
        described = describe_key(signal["key"])
        signal_ids.append(described.split(":", 1)[1])
        abouts = [describe_key(k) for k in signal.get("about", []) if describe_key(k) != here]
        for about in abouts or [None]:
            steps = [here, RAISED, described] + ([ABOUT, about] if about else [])
            paths.append(GraphPath(steps=steps))

    return AccountContext(
        tenant=tenant,
        account_id=account_id,
        name=_str(account, "name"),
        # perception.schemas names it owner_email; snapshots built to the first brief say owner.
        owner=_str(account, "owner_email") or _str(account, "owner"),
        contacts=contacts,
        champions=champions,
        open_opportunities=opportunities,
        recent_signal_ids=signal_ids,
        paths=paths,
    )
