"""Open the webhook inbox a deployment is configured for: the SQL inbox (SQLite WAL locally,
PostgreSQL in AWS) by default, SQS when a queue URL is given. The receiver, the consumers and the
dead-letter CLI all open it here, so they always agree on where events are."""

from __future__ import annotations

import re

from connectors.webhooks.port import WebhookInboxPort

# https://sqs.<region>.amazonaws.com/<account>/<name> (and the legacy <region>.queue.amazonaws.com)
_REGION_IN_URL = re.compile(r"^https?://(?:sqs\.([a-z0-9-]+)|([a-z0-9-]+)\.queue)\.amazonaws\.com(?:\.cn)?/")


class InboxConfigError(ValueError):
    """The webhook inbox settings do not describe a usable inbox."""


def open_webhook_inbox(state_url: str, *, sqs_queue_url: str | None = None,
                       sqs_dead_letter_url: str | None = None, sqs_endpoint_url: str | None = None,
                       max_attempts: int = 5) -> WebhookInboxPort:
    """The SQL inbox on ``state_url``, or the SQS inbox on ``sqs_queue_url`` (its claims table on
    ``state_url``). A queue URL without its dead-letter URL (or the reverse) is refused."""
    if sqs_queue_url is None and sqs_dead_letter_url is None:
        from connectors.webhooks.inbox import WebhookInbox

        return WebhookInbox(state_url, max_attempts=max_attempts)
    if not sqs_queue_url or not sqs_dead_letter_url:
        raise InboxConfigError("the SQS webhook inbox needs both a queue URL and its dead-letter queue "
                               "URL (REVLOOP_WEBHOOK_SQS_QUEUE_URL and REVLOOP_WEBHOOK_SQS_DEAD_LETTER_URL); "
                               "unset both for the embedded SQL inbox")
    import boto3

    from connectors.webhooks.sqs_inbox import SqsWebhookInbox

    options: dict[str, str] = {}
    if sqs_endpoint_url:
        options["endpoint_url"] = sqs_endpoint_url
    if region := sqs_region(sqs_queue_url):
        options["region_name"] = region
    sqs = boto3.client("sqs", **options)
    return SqsWebhookInbox(sqs, sqs_queue_url, sqs_dead_letter_url, state_url, max_attempts=max_attempts)


def sqs_region(queue_url: str) -> str | None:
    """The AWS region named in an SQS queue URL, or None (a local endpoint: boto3's default chain)."""
    match = _REGION_IN_URL.match(queue_url)
    return (match.group(1) or match.group(2)) if match else None
