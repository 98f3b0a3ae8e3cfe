"""Webhook ingress: Standard Webhooks v1 and HubSpot v3 verification, per-tenant secrets, the durable
inbox port with its SQL and SQS adapters, group commit and backpressure.

The receiver lives in :mod:`connectors.webhooks.receiver` and its ASGI front in
:mod:`connectors.webhooks.asgi` (imported on their own so that pipeline code reading the inbox does not
import the web stack), the SQS adapter in
:mod:`connectors.webhooks.sqs_inbox` (imports boto3). ``verify`` is not re-exported: the name is the
submodule; call ``connectors.webhooks.verify.verify``."""

from connectors.webhooks.inbox import WebhookInbox
from connectors.webhooks.port import (
    DeadLetter,
    InboxEvent,
    InboxOverloadedError,
    InboxStorageError,
    NewDelivery,
    WebhookInboxPort,
)
from connectors.webhooks.secrets import WebhookSecretFileError, WebhookSecretStore, ensure_local_secrets
from connectors.webhooks.verify import (
    VerifiedDelivery,
    WebhookVerificationError,
    sign,
    signed_headers,
)

__all__ = [
    "DeadLetter",
    "InboxEvent",
    "InboxOverloadedError",
    "InboxStorageError",
    "NewDelivery",
    "VerifiedDelivery",
    "WebhookInbox",
    "WebhookInboxPort",
    "WebhookSecretFileError",
    "WebhookSecretStore",
    "WebhookVerificationError",
    "ensure_local_secrets",
    "sign",
    "signed_headers",
]
