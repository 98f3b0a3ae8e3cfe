"""The web app's composition root: review UI + JSON API, with the webhook receiver in front, on the
embedded engines.

Nothing runs at import time. Start it with ``revloop serve`` or
``uvicorn --factory revloop.app:create_app_from_env``."""

from __future__ import annotations

import gc
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from actions.auth import ReviewerAuth, local_dev_users
from actions.auth_oidc import OidcConfig, OidcVerifier
from actions.review import ProposalReviewService
from actions.store import OperationalStore
from actions.web import build_review_router
from connectors.webhooks.asgi import WebhookIngress, with_webhook_ingress
from connectors.webhooks.backpressure import IngressLimits
from connectors.webhooks.factory import open_webhook_inbox
from connectors.webhooks.port import WebhookInboxPort
from connectors.webhooks.receiver import WebhookReceiver
from ledger.store import Ledger
from revloop.settings import Settings, load_settings
from revloop.wiring import WEBHOOK_SOURCES, ensure_webhook_secrets, open_signal_store, state_url


def create_app(settings: Settings) -> WebhookIngress:
    """The ASGI app: ``POST /webhooks/{source}`` is answered by the receiver in front, everything else
    by the FastAPI app behind it (``.app``)."""
    settings.paths.ensure()
    url = state_url(settings)
    store = OperationalStore(url)
    review = ProposalReviewService(store, Ledger(url), clock=lambda: datetime.now(UTC),
                                   approval_ttl=timedelta(hours=settings.approval_ttl_hours),
                                   approval_validity=timedelta(hours=settings.approval_validity_hours))
    auth = ReviewerAuth(local_dev_users(settings.tenants), session_secret(settings),
                        oidc=oidc_verifier(settings), local_login=settings.local_login,
                        secure_cookies=settings.secure_cookies)
    signals = open_signal_store(settings)
    crm = DemoCrmRecords(settings.paths.demo_world)

    app = FastAPI(title="revloop", summary="Review proposals, receive webhooks.", version="0.1.0")
    app.include_router(build_review_router(store, review, signals.get, auth, record_lookup=crm.get_record))
    return with_webhook_ingress(app, webhook_receiver(settings, webhook_inbox(settings)),
                                public_base_url=settings.webhook_public_base_url)


def webhook_inbox(settings: Settings) -> WebhookInboxPort:
    """The inbox the settings name: SQL in the state database, or SQS when a queue URL is set."""
    return open_webhook_inbox(state_url(settings), sqs_queue_url=settings.webhook_sqs_queue_url,
                              sqs_dead_letter_url=settings.webhook_sqs_dead_letter_url,
                              sqs_endpoint_url=settings.webhook_sqs_endpoint_url,
                              max_attempts=settings.webhook_max_attempts)


def webhook_receiver(settings: Settings, inbox: WebhookInboxPort) -> WebhookReceiver:
    """The receiver with the configured limits. Its group committer (built over ``inbox.store_many``)
    shares one fsync among concurrent requests and commits what is queued when the app shuts down."""
    limits = IngressLimits(max_body_bytes=settings.webhook_max_body_bytes,
                           max_pending_per_tenant=settings.webhook_max_pending_per_tenant,
                           max_pending_total=settings.webhook_max_pending_total,
                           retry_after_seconds=settings.webhook_retry_after_seconds)
    return WebhookReceiver(inbox, ensure_webhook_secrets(settings), set(WEBHOOK_SOURCES), limits=limits)


def create_app_from_env() -> WebhookIngress:
    """The server's entry point (``revloop serve``, ``uvicorn --factory``)."""
    app = create_app(load_settings())
    # Everything allocated so far (imports, the app) lives as long as the process: move it out of
    # the garbage collector's view. Otherwise each full collection walks it all, a 60 ms stall under
    # webhook load that made the ingest p99 (benchmarks/README.md).
    gc.freeze()
    return app


def oidc_verifier(settings: Settings) -> OidcVerifier | None:
    """OIDC (e.g. Cognito) when an issuer is configured; the local login alone otherwise."""
    if not settings.oidc_issuer:
        return None
    if not settings.oidc_client_id:
        raise ValueError("REVLOOP_OIDC_ISSUER is set but REVLOOP_OIDC_CLIENT_ID is not: "
                         "set the app client id")
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
    return OidcVerifier(OidcConfig(
        issuer=settings.oidc_issuer, client_id=settings.oidc_client_id, jwks_url=settings.oidc_jwks_url,
        roles_claim=settings.oidc_roles_claim, tenants_claim=settings.oidc_tenants_claim,
        authorization_endpoint=settings.oidc_authorization_endpoint,
        token_endpoint=settings.oidc_token_endpoint, client_secret=secret,
        redirect_url=settings.oidc_redirect_url))


def session_secret(settings: Settings) -> str:
    """settings.session_secret, else a key generated once into the secrets directory (mode 0600)."""
    if settings.session_secret:
        return settings.session_secret
    path = settings.paths.secrets / "session.key"
    if not path.exists():
        # Write a private temp file, then link it into place: linking fails if another process won
        # the race, and nobody ever reads a half-written key.
        tmp = path.with_name(f".session.key.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < 32:
        raise ValueError(f"{path} holds no usable session key: delete it to generate a new one")
    return key


class DemoCrmRecords:
    """Reads CRM records for the review page's before/after preview; the demo world may not exist yet
    when the web app starts, so the CRM is opened on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._crm: Any = None

    def get_record(self, tenant: str, object: str, record_id: str) -> dict[str, Any] | None:
        from connectors.demo.crm import CrmError, DemoCrm

        if self._crm is None:
            if not (self.root / "world.sqlite").exists():
                return None
            self._crm = DemoCrm(self.root)
        try:
            return self._crm.get_record(tenant, object, record_id)
        except CrmError:  # unknown tenant or object: the preview says "record not found"
            return None
