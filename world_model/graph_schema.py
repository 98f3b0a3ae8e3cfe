"""The situation graph's schema: vertex and edge labels, and the tenant-scoped key of every vertex."""

from __future__ import annotations

from typing import Final

from perception.schemas import CLOSED_STAGES
from world_model.tenancy import validate_tenant

TENANT: Final = "Tenant"
ACCOUNT: Final = "Account"
CONTACT: Final = "Contact"
OPPORTUNITY: Final = "Opportunity"
PRODUCT: Final = "Product"
SIGNAL: Final = "Signal"
RISK: Final = "Risk"  # a standing condition on an account, evidenced by one or more signals
EVENT: Final = "Event"  # a CRM activity (note, call, meeting...) or a deal's stage change
VERTEX_LABELS: Final = (TENANT, ACCOUNT, CONTACT, OPPORTUNITY, PRODUCT, SIGNAL, RISK, EVENT)

WORKS_AT: Final = "WORKS_AT"  # Contact -> Account
CHAMPION_OF: Final = "CHAMPION_OF"  # Contact -> Account, active champions only
HAS_OPPORTUNITY: Final = "HAS_OPPORTUNITY"  # Account -> Opportunity
USES: Final = "USES"  # Account -> Product, latest usage day as properties
RAISED: Final = "RAISED"  # Signal -> Account
ABOUT: Final = "ABOUT"  # Signal -> the entity it is about
EVIDENCES: Final = "EVIDENCES"  # Signal -> Risk
AFFECTS: Final = "AFFECTS"  # Risk -> Account, and Risk -> the Contact/Opportunity at risk
OCCURRED_AT: Final = "OCCURRED_AT"  # Event -> Account
ON_OPPORTUNITY: Final = "ON_OPPORTUNITY"  # Event -> Opportunity (an activity on a deal, a stage change)
INVOLVES: Final = "INVOLVES"  # Event -> Contact
EDGE_LABELS: Final = (WORKS_AT, CHAMPION_OF, HAS_OPPORTUNITY, USES, RAISED, ABOUT, EVIDENCES, AFFECTS,
                      OCCURRED_AT, ON_OPPORTUNITY, INVOLVES)

# What sync_snapshot owns: anything else (signals, risks, the tenant root) is never removed by a snapshot.
# Stage-change events are carried from sync to sync while their opportunity exists.
SNAPSHOT_VERTEX_LABELS: Final = frozenset({ACCOUNT, CONTACT, OPPORTUNITY, PRODUCT, EVENT})
SNAPSHOT_EDGE_LABELS: Final = (WORKS_AT, CHAMPION_OF, HAS_OPPORTUNITY, USES, OCCURRED_AT, ON_OPPORTUNITY,
                               INVOLVES)

ENTITY_LABELS: Final = {"account": ACCOUNT, "contact": CONTACT, "opportunity": OPPORTUNITY}

KEY_SEPARATOR: Final = "|"


def vertex_key(tenant: str, label: str, entity_id: str) -> str:
    """``<tenant>|<Label>|<id>``: the only way traversals address a vertex, so none can cross tenants."""
    if label not in VERTEX_LABELS:
        raise ValueError(f"unknown vertex label {label!r}; expected one of {', '.join(VERTEX_LABELS)}")
    if not entity_id:
        raise ValueError(f"empty {label} id for tenant {tenant!r}")
    return KEY_SEPARATOR.join((validate_tenant(tenant), label, entity_id))


def tenant_key(tenant: str) -> str:
    return vertex_key(tenant, TENANT, tenant)


def key_id(key: str) -> str:
    """``acme|Contact|c3`` -> ``c3``."""
    return key.split(KEY_SEPARATOR, 2)[2]


def describe_key(key: str) -> str:
    """``acme|Contact|c3`` -> ``Contact:c3``, the form graph paths use as evidence."""
    _tenant, label, entity_id = key.split(KEY_SEPARATOR, 2)
    return f"{label}:{entity_id}"


def is_open_stage(stage: str | None) -> bool:
    """Opportunities are open unless their (canonical) stage is closed_won or closed_lost."""
    return stage not in CLOSED_STAGES
