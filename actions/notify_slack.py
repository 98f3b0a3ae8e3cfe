"""Slack incoming-webhook notifier (httpx): one POST per message, retried on 429 and 5xx.

The webhook URL is a secret (it alone authorises posting); it is never logged or put in errors."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from actions.status import OutboxMessage
from connectors.retry import Retryable, RetryPolicy, call_with_retry, parse_retry_after


class SlackRejected(RuntimeError):
    def __init__(self, status: int, reason: str, retry_after: float | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"Slack answered HTTP {status}: {reason}")


def _classify(error: Exception) -> Retryable | None:
    if isinstance(error, httpx.TransportError):
        return Retryable(0, f"{type(error).__name__}: {error}")
    if isinstance(error, SlackRejected) and (error.status == 429 or error.status >= 500):
        return Retryable(error.status, str(error), error.retry_after)
    return None


def slack_text(message: OutboxMessage) -> str:
    """Slack mrkdwn with the three control characters escaped, as Slack asks."""
    def esc(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"*{esc(message.subject)}*\n{esc(message.body)}\n_for {esc(message.recipient)}_"


class SlackWebhookNotifier:
    channel = "slack"

    def __init__(self, webhook_url: str, client: httpx.Client | None = None,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        if not webhook_url.startswith("https://") and not webhook_url.startswith("http://127.0.0.1"):
            raise ValueError("the Slack webhook URL must be an https:// URL from the Slack app's "
                             "Incoming Webhooks page")
        self._url = webhook_url
        self._client = client or httpx.Client(timeout=10.0)
        self._retry = retry or RetryPolicy(max_attempts=5)
        self._sleep = sleep

    def __repr__(self) -> str:
        return "SlackWebhookNotifier(webhook_url=<secret>)"

    def send(self, message: OutboxMessage) -> str | None:
        def once() -> str | None:
            response = self._client.post(self._url, json={"text": slack_text(message)})
            if response.status_code >= 300:
                raise SlackRejected(response.status_code, response.text[:200] or response.reason_phrase,
                                    parse_retry_after(response.headers.get("Retry-After")))
            return None  # incoming webhooks answer "ok" and no message id

        return call_with_retry(once, what="Slack webhook post", classify=_classify, policy=self._retry,
                               sleep=self._sleep)
