"""How Salesforce spells the canonical fields (columns as SalesforceConnector emits them).

Vendor columns keep Salesforce API names (relationships flattened: ``Owner.Email``); ``revloop.*``
columns are the connector's derivations (configured custom fields, task type/direction/links)."""

from __future__ import annotations

from perception.mapping_spec import ColumnSpec, ObjectMapping, SourceMapping
from perception.schemas import ACTIVITY_TYPES, CONTACT_STATUSES, DIRECTIONS, ROLES, STAGES

_MONEY_MAX = 1e10
_COUNT_MAX = 1e7

# Salesforce's default opportunity stages; org-specific stages that slug to a canonical stage need no
# entry, any other is quarantined as invalid_value.
STAGE_LABELS = {
    "prospecting": "qualification",
    "needs analysis": "discovery",
    "value proposition": "discovery",
    "id. decision makers": "discovery",
    "perception analysis": "discovery",
    "proposal/price quote": "proposal",
    "negotiation/review": "negotiation",
}
ROLE_LABELS = {"economic buyer": "economic_buyer", "decision maker": "economic_buyer",
               "business user": "user", "end user": "user"}
STATUS_LABELS = {"no longer at company": "departed", "left company": "departed"}
TASK_TYPE_LABELS = {"listemail": "email", "cadence": "task", "linkedin": "task"}

SALESFORCE: SourceMapping = {
    "accounts": ObjectMapping((
        ColumnSpec("account_id", "Id", "id", required=True),
        ColumnSpec("name", "Name", "text", required=True),
        ColumnSpec("domain", "Website", "domain"),
        ColumnSpec("industry", "Industry", "slug"),
        ColumnSpec("owner_email", "Owner.Email", "email"),
        ColumnSpec("arr", "revloop.arr", "float", lo=0, hi=_MONEY_MAX),
        ColumnSpec("seats_licensed", "revloop.seats_licensed", "int", lo=0, hi=_COUNT_MAX),
        ColumnSpec("renewal_date", "revloop.renewal_date", "date"),
    )),
    "contacts": ObjectMapping((
        ColumnSpec("contact_id", "Id", "id", required=True),
        ColumnSpec("account_id", "AccountId", "id", required=True),
        ColumnSpec("name", ("FirstName", "LastName"), "text"),
        ColumnSpec("email", "Email", "email"),
        ColumnSpec("title", "Title", "text"),
        ColumnSpec("role", "revloop.role", "enum", allowed=ROLES, labels=ROLE_LABELS),
        ColumnSpec("status", "revloop.contact_status", "enum", required=True, allowed=CONTACT_STATUSES,
                   labels=STATUS_LABELS),
    )),
    "opportunities": ObjectMapping((
        ColumnSpec("opportunity_id", "Id", "id", required=True),
        ColumnSpec("account_id", "AccountId", "id", required=True),
        ColumnSpec("name", "Name", "text"),
        ColumnSpec("stage", "StageName", "enum", required=True, allowed=STAGES, labels=STAGE_LABELS),
        ColumnSpec("amount", "Amount", "float", lo=0, hi=_MONEY_MAX),
        ColumnSpec("close_date", "CloseDate", "date"),
        ColumnSpec("owner_email", "Owner.Email", "email"),
        ColumnSpec("stage_changed_on", "LastStageChangeDate", "date"),
    )),
    "activities": ObjectMapping((
        ColumnSpec("activity_id", "Id", "id", required=True),
        ColumnSpec("account_id", "AccountId", "id", required=True),
        ColumnSpec("opportunity_id", "revloop.opportunity_id", "id"),
        ColumnSpec("contact_id", "revloop.contact_id", "id"),
        ColumnSpec("type", "revloop.activity_type", "enum", required=True, allowed=ACTIVITY_TYPES,
                   labels=TASK_TYPE_LABELS),
        ColumnSpec("direction", "revloop.direction", "enum", required=True, allowed=DIRECTIONS),
        ColumnSpec("subject", "Subject", "text"),
        ColumnSpec("occurred_on", "revloop.occurred_at", "date", required=True),
    )),
}
