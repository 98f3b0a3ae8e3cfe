"""Projection of canonical tables onto graph vertices/edges, and the diff sync writes from it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl
import pytest

from world_model.graph_schema import describe_key, is_open_stage, vertex_key
from world_model.projection import SnapshotError, project_snapshot, to_scalar
from world_model.sync_plan import diff_props, plan_sync
from world_model.tenancy import InvalidTenantError, validate_tenant


def snapshot(tenant: str = "acme") -> dict[str, pl.DataFrame]:
    return {
        "accounts": pl.DataFrame({"tenant": [tenant], "account_id": ["a1"], "name": ["Initech"],
                                  "owner_email": ["rep@vendor.example"], "arr": [1.5],
                                  "renewal_date": [date(2026, 3, 31)]}),
        "contacts": pl.DataFrame({"tenant": [tenant] * 3, "contact_id": ["c1", "c2", "c3"],
                                  "account_id": ["a1", "a1", "a404"], "name": ["Ada", "Ben", "Cy"],
                                  "role": ["champion", "champion", "user"],
                                  "status": ["active", "departed", "active"]}),
        "opportunities": pl.DataFrame({"tenant": [tenant], "opportunity_id": ["o1"], "account_id": ["a1"],
                                       "name": ["Renewal"], "stage": ["proposal"]}),
        "usage": pl.DataFrame({"tenant": [tenant] * 3, "account_id": ["a1"] * 3,
                               "product": ["analytics"] * 3,
                               "day": [date(2026, 1, 3), date(2026, 1, 1), date(2026, 1, 2)],
                               "active_users": [7, 9, 8], "seats_used": [10, 10, 10]}),
    }


def test_projection_keys_every_vertex_by_tenant_label_and_id() -> None:
    projection = project_snapshot("acme", snapshot())

    assert sorted(projection.vertices) == sorted([
        "acme|Tenant|acme", "acme|Account|a1", "acme|Contact|c1", "acme|Contact|c2", "acme|Contact|c3",
        "acme|Opportunity|o1", "acme|Product|analytics"])
    account = projection.vertices["acme|Account|a1"]
    assert account.props["renewal_date"] == "2026-03-31" and "tenant" not in account.props


def test_only_active_champions_get_champion_of_and_orphans_get_no_edge() -> None:
    edges = set(project_snapshot("acme", snapshot()).edges)

    assert ("CHAMPION_OF", "acme|Contact|c1", "acme|Account|a1") in edges
    assert ("CHAMPION_OF", "acme|Contact|c2", "acme|Account|a1") not in edges
    assert ("WORKS_AT", "acme|Contact|c2", "acme|Account|a1") in edges
    assert not [e for e in edges if e[1] == "acme|Contact|c3"]  # its account a404 is not in the snapshot


def test_uses_edge_carries_the_latest_usage_day() -> None:
    edges = project_snapshot("acme", snapshot()).edges

    assert edges[("USES", "acme|Account|a1", "acme|Product|analytics")] == {
        "last_day": "2026-01-03", "active_users": 7, "seats_used": 10}


@pytest.mark.parametrize("broken, message", [
    (lambda t: t.pop("usage"), "no 'usage' table"),
    (lambda t: t.update(contacts=t["contacts"].drop("role")), "lacks columns"),
    (lambda t: t.update(accounts=t["accounts"].with_columns(tenant=pl.lit("globex"))), "another tenant"),
    (lambda t: t.update(opportunities=pl.concat([t["opportunities"]] * 2)), "repeats opportunity_id"),
    (lambda t: t.update(accounts=t["accounts"].with_columns(account_id=pl.lit(None, pl.String))),
     "without account_id"),
])
def test_unsafe_snapshots_are_refused(broken: Callable[[dict], object], message: str) -> None:
    tables = snapshot()
    broken(tables)

    with pytest.raises(SnapshotError, match=message):
        project_snapshot("acme", tables)


def test_scalars_drop_nan_and_refuse_unknown_types() -> None:
    assert to_scalar(float("nan")) is None
    assert to_scalar(date(2026, 1, 2)) == "2026-01-02"
    with pytest.raises(SnapshotError, match="cannot store list"):
        to_scalar([1])
    with pytest.raises(SnapshotError, match="out of the graph's range"):
        to_scalar(-(2**62) - 1)


def test_plan_writes_only_differences_and_never_drops_signals() -> None:
    projection = project_snapshot("acme", snapshot())
    existing_vertices = {
        key: (spec.label, {k: v for k, v in spec.props.items() if v is not None})
        for key, spec in projection.vertices.items()
    }
    existing_vertices["acme|Account|a1"][1]["name"] = "Old name"
    existing_vertices["acme|Contact|gone"] = ("Contact", {"name": "Gone"})
    existing_vertices["acme|Signal|sig_1"] = ("Signal", {"kind": "usage_drop"})
    existing_edges = dict(projection.edges)
    existing_edges[("CHAMPION_OF", "acme|Contact|c2", "acme|Account|a1")] = {}

    plan = plan_sync(projection, existing_vertices, existing_edges, {"Account", "Contact"})

    assert plan.vertices_to_add == {}
    assert plan.vertices_to_update == {"acme|Account|a1": ({"name": "Initech"}, [])}
    assert plan.vertices_to_drop == ["acme|Contact|gone"]
    assert plan.edges_to_drop == [("CHAMPION_OF", "acme|Contact|c2", "acme|Account|a1")]
    assert plan.edges_to_add == {} and plan.edges_to_update == {}


def test_props_that_become_null_are_cleared() -> None:
    assert diff_props({"title": None, "name": "Ada"}, {"title": "VP", "name": "Ada"}) == ({}, ["title"])


@pytest.mark.parametrize("tenant", ["", "Acme", "acme|Account|a1", "../acme", "a b", "a.b", "-x", "x" * 64])
def test_unsafe_tenant_ids_are_refused(tenant: str) -> None:
    with pytest.raises(InvalidTenantError):
        validate_tenant(tenant)


def test_keys_describe_and_stages() -> None:
    assert validate_tenant("acme-eu_2") == "acme-eu_2"
    assert describe_key(vertex_key("acme", "Contact", "c|3")) == "Contact:c|3"
    assert is_open_stage("negotiation") and not is_open_stage("closed_lost")
    with pytest.raises(ValueError, match="unknown vertex label"):
        vertex_key("acme", "Person", "p1")
