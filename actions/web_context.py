"""What the review pages and the JSON API share: services, auth, templates, tenant checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from fastapi.templating import Jinja2Templates

from actions.auth import Reviewer, ReviewerAuth
from actions.errors import ProposalNotFoundError, TenantNotFoundError
from actions.review import ProposalReviewService
from actions.status import StoredProposal
from actions.store import OperationalStore
from actions.views import RecordLookup, SignalLookup

TEMPLATES_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class ReviewWeb:
    """Everything the pages and API endpoints share."""

    store: OperationalStore
    review: ProposalReviewService
    signal_lookup: SignalLookup
    record_lookup: RecordLookup | None
    auth: ReviewerAuth
    templates: Jinja2Templates

    def now(self) -> datetime:
        return self.review.clock()

    @property
    def ttl(self) -> timedelta:
        return self.review.approval_ttl

    def tenant_for(self, reviewer: Reviewer, requested: str | None) -> str:
        tenant = requested or reviewer.default_tenant
        if tenant is None or not reviewer.may_review(tenant):
            raise TenantNotFoundError(f"no tenant {requested!r} you may review")
        return tenant

    def load(self, reviewer: Reviewer, proposal_id: str) -> StoredProposal:
        stored = self.store.get(proposal_id)
        if stored is None or not reviewer.may_review(stored.tenant):
            raise ProposalNotFoundError(f"no proposal {proposal_id} you may review")
        return stored
