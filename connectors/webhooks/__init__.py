"""Webhook ingress: Standard Webhooks v1 verification, per-tenant secrets and the durable inbox.

The FastAPI router lives in :mod:`connectors.webhooks.routes` (imported on its own so that pipeline
code reading the inbox does not import the web stack). ``verify`` is not re-exported: the name is
the submodule; call ``connectors.webhooks.verify.verify``."""

from connectors.webhooks.inbox import InboxEvent, InboxStorageError, WebhookInbox
from connectors.webhooks.secrets import WebhookSecretFileError, WebhookSecretStore, ensure_local_secrets
from connectors.webhooks.verify import (
    VerifiedDelivery,
    WebhookVerificationError,
    sign,
    signed_headers,
)

__all__ = [
    "InboxEvent",
    "InboxStorageError",
    "VerifiedDelivery",
    "WebhookInbox",
    "WebhookSecretFileError",
    "WebhookSecretStore",
    "WebhookVerificationError",
    "ensure_local_secrets",
    "sign",
    "signed_headers",
]
