"""Graph vertex properties -> the typed views the queries return."""

from __future__ import annotations

from world_model.contracts import ContactView, OpportunityView
from world_model.projection import Scalar

Props = dict[str, Scalar]


def first_values(value_map: dict) -> Props:
    """gremlinpython's valueMap gives lists per property; every property here has one value."""
    return {k: v[0] if isinstance(v, list) else v for k, v in value_map.items()}


def text(props: Props, name: str) -> str | None:
    value = props.get(name)
    return None if value is None else str(value)


def number(props: Props, name: str) -> float | None:
    value = props.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def integer(props: Props, name: str) -> int | None:
    value = props.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def contact_view(props: Props) -> ContactView:
    return ContactView(
        contact_id=str(props["contact_id"]),
        name=str(props.get("name", "")),
        title=text(props, "title"),
        role=text(props, "role"),
        status=text(props, "status"),
    )


def opportunity_view(props: Props) -> OpportunityView:
    return OpportunityView(
        opportunity_id=str(props["opportunity_id"]),
        name=str(props.get("name", "")),
        stage=str(props.get("stage", "")),
        amount=number(props, "amount"),
        close_date=text(props, "close_date"),
    )
