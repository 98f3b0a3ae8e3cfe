"""How each source spells the canonical fields: raw column -> canonical column, parse kind, bounds.

A new connector adds its ObjectMappings here (or passes its own to `normalize`)."""

from __future__ import annotations

from perception.mapping_spec import ColumnSpec, ObjectMapping, SourceMapping
from perception.schemas import ACTIVITY_TYPES, CONTACT_STATUSES, DIRECTIONS, ROLES, STAGES

_MONEY_MAX = 1e10
_COUNT_MAX = 1e7

DEMO: SourceMapping = {
    "accounts": ObjectMapping((
        ColumnSpec("account_id", "Id", "id", required=True),
        ColumnSpec("name", "Name", "text", required=True),
        ColumnSpec("domain", "Website", "domain"),
        ColumnSpec("industry", "Industry", "slug"),
        ColumnSpec("owner_email", "OwnerEmail", "email"),
        ColumnSpec("arr", "AnnualRecurringRevenue", "float", lo=0, hi=_MONEY_MAX),
        ColumnSpec("seats_licensed", "SeatsLicensed__c", "int", lo=0, hi=_COUNT_MAX),
        ColumnSpec("renewal_date", "RenewalDate__c", "date"),
    )),
    "contacts": ObjectMapping((
        ColumnSpec("contact_id", "Id", "id", required=True),
        ColumnSpec("account_id", "AccountId", "id", required=True),
        ColumnSpec("name", ("FirstName", "LastName"), "text"),
        ColumnSpec("email", "Email", "email"),
        ColumnSpec("title", "Title", "text"),
        ColumnSpec("role", "Role__c", "enum", allowed=ROLES, labels={"end user": "user"}),
        ColumnSpec("status", "Status__c", "enum", required=True, allowed=CONTACT_STATUSES,
                   labels={"no longer at company": "departed"}),
    )),
    "opportunities": ObjectMapping((
        ColumnSpec("opportunity_id", "Id", "id", required=True),
        ColumnSpec("account_id", "AccountId", "id", required=True),
        ColumnSpec("name", "Name", "text"),
        ColumnSpec("stage", "StageName", "enum", required=True, allowed=STAGES,
                   labels={"proposal/price quote": "proposal", "negotiation/review": "negotiation"}),
        ColumnSpec("amount", "Amount", "float", lo=0, hi=_MONEY_MAX),
        ColumnSpec("close_date", "CloseDate", "date"),
        ColumnSpec("owner_email", "OwnerEmail", "email"),
        ColumnSpec("stage_changed_on", "LastStageChangeDate", "date"),
    )),
    "activities": ObjectMapping((
        ColumnSpec("activity_id", "Id", "id", required=True),
        ColumnSpec("account_id", "AccountId", "id", required=True),
        ColumnSpec("opportunity_id", "OpportunityId", "id"),
        ColumnSpec("contact_id", "WhoId", "id"),
        ColumnSpec("type", "Type", "enum", required=True, allowed=ACTIVITY_TYPES),
        ColumnSpec("direction", "Direction__c", "enum", required=True, allowed=DIRECTIONS),
        ColumnSpec("subject", "Subject", "text"),
        ColumnSpec("occurred_on", "ActivityDate", "date", required=True),
    )),
    "usage": ObjectMapping((
        ColumnSpec("account_id", "account_ref", "id", required=True),
        ColumnSpec("product", "product_sku", "id", required=True),
        ColumnSpec("day", "usage_date", "date", required=True),
        ColumnSpec("active_users", "active_users", "int", required=True, lo=0, hi=_COUNT_MAX),
        ColumnSpec("seats_used", "seats_used", "int", required=True, lo=0, hi=_COUNT_MAX),
    ), derived_key=("account_id", "product", "day")),
}

from perception.mappings_hubspot import HUBSPOT  # noqa: E402
from perception.mappings_salesforce import SALESFORCE  # noqa: E402
from perception.mappings_telemetry import TELEMETRY  # noqa: E402

MAPPINGS: dict[str, SourceMapping] = {"demo": DEMO, "hubspot": HUBSPOT, "salesforce": SALESFORCE,
                                      "telemetry": TELEMETRY}
__all__ = ["DEMO", "HUBSPOT", "MAPPINGS", "SALESFORCE", "TELEMETRY", "ColumnSpec", "ObjectMapping",
           "SourceMapping"]
