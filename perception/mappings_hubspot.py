"""How HubSpot spells the canonical fields (columns as HubSpotConnector emits them).

Vendor columns keep HubSpot's internal property names; ``revloop.*`` columns are the connector's
derivations (picked association, owner email, stage label, the stage's hs_date_entered_<stage>)."""

from __future__ import annotations

from perception.mapping_spec import ColumnSpec, ObjectMapping, SourceMapping
from perception.schemas import ACTIVITY_TYPES, CONTACT_STATUSES, DIRECTIONS, ROLES, STAGES

_MONEY_MAX = 1e10
_COUNT_MAX = 1e7

# Labels of HubSpot's default sales pipeline; custom pipelines whose labels slug to a canonical stage
# ("Proposal", "Closed Won") need no entry, any other label is quarantined as invalid_value.
DEAL_STAGE_LABELS = {
    "appointment scheduled": "qualification",
    "qualified to buy": "discovery",
    "presentation scheduled": "proposal",
    "decision maker bought-in": "negotiation",
    "contract sent": "negotiation",
}
BUYING_ROLE_LABELS = {
    "budget_holder": "economic_buyer", "decision_maker": "economic_buyer",
    "executive_sponsor": "economic_buyer", "end_user": "user",
}
CONTACT_STATUS_LABELS = {"no longer at company": "departed", "left company": "departed"}

HUBSPOT: SourceMapping = {
    "accounts": ObjectMapping((
        ColumnSpec("account_id", "id", "id", required=True),
        ColumnSpec("name", "name", "text", required=True),
        ColumnSpec("domain", "domain", "domain"),
        ColumnSpec("industry", "industry", "slug"),
        ColumnSpec("owner_email", "revloop.owner_email", "email"),
        ColumnSpec("arr", "revloop.arr", "float", lo=0, hi=_MONEY_MAX),
        ColumnSpec("seats_licensed", "revloop.seats_licensed", "int", lo=0, hi=_COUNT_MAX),
        ColumnSpec("renewal_date", "revloop.renewal_date", "date"),
    )),
    "contacts": ObjectMapping((
        ColumnSpec("contact_id", "id", "id", required=True),
        ColumnSpec("account_id", "revloop.account_id", "id", required=True),
        ColumnSpec("name", ("firstname", "lastname"), "text"),
        ColumnSpec("email", "email", "email"),
        ColumnSpec("title", "jobtitle", "text"),
        ColumnSpec("role", "revloop.buying_role", "enum", allowed=ROLES, labels=BUYING_ROLE_LABELS),
        ColumnSpec("status", "revloop.contact_status", "enum", required=True, allowed=CONTACT_STATUSES,
                   labels=CONTACT_STATUS_LABELS),
    )),
    "opportunities": ObjectMapping((
        ColumnSpec("opportunity_id", "id", "id", required=True),
        ColumnSpec("account_id", "revloop.account_id", "id", required=True),
        ColumnSpec("name", "dealname", "text"),
        ColumnSpec("stage", "revloop.stage_label", "enum", required=True, allowed=STAGES,
                   labels=DEAL_STAGE_LABELS),
        ColumnSpec("amount", "amount", "float", lo=0, hi=_MONEY_MAX),
        ColumnSpec("close_date", "closedate", "date"),
        ColumnSpec("owner_email", "revloop.owner_email", "email"),
        ColumnSpec("stage_changed_on", "revloop.stage_entered_at", "date"),
    )),
    "activities": ObjectMapping((
        ColumnSpec("activity_id", "id", "id", required=True),
        ColumnSpec("account_id", "revloop.account_id", "id", required=True),
        ColumnSpec("opportunity_id", "revloop.opportunity_id", "id"),
        ColumnSpec("contact_id", "revloop.contact_id", "id"),
        ColumnSpec("type", "revloop.activity_type", "enum", required=True, allowed=ACTIVITY_TYPES),
        ColumnSpec("direction", "revloop.direction", "enum", required=True, allowed=DIRECTIONS),
        ColumnSpec("subject", "revloop.subject", "text"),
        ColumnSpec("occurred_on", "hs_timestamp", "date", required=True),
    )),
}
