"""The demo world's vocabulary: stages, roles, products, and how the demo CRM spells its fields."""

from __future__ import annotations

from datetime import date, timedelta

EPOCH = date(2026, 1, 1)  # simulated day 0
USAGE_WINDOW_DAYS = 28  # telemetry exports carry this many trailing days of history
ACTIVITY_WINDOW_DAYS = 90  # the world keeps (and exports) this many trailing days of activities

OPEN_STAGES: tuple[str, ...] = ("qualification", "discovery", "proposal", "negotiation")
CLOSED_STAGES: tuple[str, ...] = ("closed_won", "closed_lost")
LATE_STAGES: tuple[str, ...] = ("proposal", "negotiation")  # where a deal needs its economic buyer
STAGES: tuple[str, ...] = OPEN_STAGES + CLOSED_STAGES
ROLES: tuple[str, ...] = ("champion", "economic_buyer", "user")
CONTACT_STATUSES: tuple[str, ...] = ("active", "departed")

# The demo CRM's own spellings, so normalization has real mapping to do.
STAGE_LABELS = {
    "qualification": "Qualification", "discovery": "Discovery", "proposal": "Proposal/Price Quote",
    "negotiation": "Negotiation/Review", "closed_won": "Closed Won", "closed_lost": "Closed Lost",
}
ROLE_LABELS = {"champion": "Champion", "economic_buyer": "Economic Buyer", "user": "End User"}
STATUS_LABELS = {"active": "Active", "departed": "No Longer at Company"}
ACTIVITY_TYPE_LABELS = {"email": "Email", "call": "Call", "meeting": "Meeting", "note": "Note",
                        "task": "Task"}
DIRECTION_LABELS = {"inbound": "Inbound", "outbound": "Outbound", "internal": "Internal"}

# When the world considers a deal or account at risk: the ground truth of the condition kinds.
# perception's SignalThresholds defaults are the same numbers (a unit test keeps them equal).
NO_ACTIVITY_DAYS = 14  # open deal without an inbound or outbound activity for this long
GHOSTED_DAYS = 10  # open deal whose last inbound reply is this old ...
GHOSTED_MIN_OUTBOUND = 2  # ... with at least this many outbound touches since
MIN_ACTIVE_CONTACTS = 2  # an open deal's account with fewer active contacts is single-threaded
STALL_DAYS: dict[str, int] = {"qualification": 21, "discovery": 30, "proposal": 30, "negotiation": 30}
RENEWAL_WINDOW_DAYS = 60  # renewal date this close or closer
CONDITION_COOL_DOWN_DAYS = 7  # a condition that returns sooner after it was raised is not raised again

# A healthy deal's cadence stays clear of those thresholds: an outbound touch at least every
# TOUCH_MAX_GAP_DAYS, an inbound reply at least every REPLY_MAX_GAP_DAYS.
TOUCH_MAX_GAP_DAYS = 5
REPLY_MAX_GAP_DAYS = 8

# Fields of the CRM state (canonical spelling) that DemoCrm.update_field may change, per object.
WRITABLE_FIELDS: dict[str, frozenset[str]] = {
    "accounts": frozenset({"name", "domain", "industry", "owner_email", "arr", "seats_licensed",
                           "renewal_date"}),
    "contacts": frozenset({"first_name", "last_name", "email", "title", "role", "status"}),
    "opportunities": frozenset({"name", "stage", "amount", "close_date", "owner_email"}),
    "tasks": frozenset({"subject", "body", "due_date", "owner_email", "status"}),
}
CRM_OBJECTS: tuple[str, ...] = ("accounts", "contacts", "opportunities", "tasks")

PRODUCT_CATALOG: tuple[tuple[str, str], ...] = (
    ("prod-analytics", "Analytics"), ("prod-automation", "Automation"), ("prod-insights", "Insights"),
    ("prod-connect", "Connect"), ("prod-guard", "Guard"),
)
INDUSTRIES: tuple[str, ...] = ("software", "manufacturing", "healthcare", "retail", "logistics",
                               "financial_services", "education", "media")
NAME_FIRST: tuple[str, ...] = ("Blue", "North", "Silver", "Bright", "Iron", "Cedar", "Summit", "Red",
                               "Granite", "Harbor", "Quantum", "Golden", "Pine", "Swift", "Lunar", "Atlas")
NAME_SECOND: tuple[str, ...] = ("Harbor", "Peak", "Field", "River", "Stone", "Bridge", "Works", "Labs",
                                "Systems", "Dynamics", "Foods", "Freight", "Health", "Media", "Retail",
                                "Energy", "Capital", "Robotics")
FIRST_NAMES: tuple[str, ...] = ("Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Gus", "Hana", "Ivan",
                                "Jo", "Kofi", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa",
                                "Sam", "Tariq", "Uma", "Viktor", "Wen", "Yara", "Zoe")
LAST_NAMES: tuple[str, ...] = ("Adams", "Baker", "Costa", "Diaz", "Evans", "Fischer", "Garcia", "Hughes",
                               "Ito", "Jensen", "Khan", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel",
                               "Rossi", "Smith", "Tanaka", "Usman", "Vogel", "Wong", "Young", "Zhang")
TITLES: dict[str, tuple[str, ...]] = {
    "champion": ("Director of Operations", "Head of Analytics", "VP Product", "Engineering Manager"),
    "economic_buyer": ("CFO", "VP Finance", "COO", "Chief Revenue Officer"),
    "user": ("Analyst", "Operations Specialist", "Data Engineer", "Account Coordinator", "Designer"),
}


def day_of(index: int) -> date:
    return EPOCH + timedelta(days=index)


def index_of(day: date) -> int:
    return (day - EPOCH).days
