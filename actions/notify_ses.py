"""Email through Amazon SES (boto3 ``sesv2``): one SendEmail per message.

Retries are botocore's (build the client with ``Config(retries={"mode": "standard"})``); the sender
must be a verified SES identity. The message id SES returns is kept on the outbox row."""

from __future__ import annotations

import re
from typing import Any

from actions.status import OutboxMessage

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SesEmailNotifier:
    channel = "email"

    def __init__(self, client: Any, sender: str, configuration_set: str | None = None) -> None:
        if not _EMAIL.match(sender):
            raise ValueError(f"SES sender {sender!r} is not an email address: use a verified identity, "
                             "e.g. revloop@yourcompany.com")
        self._client = client
        self.sender = sender
        self.configuration_set = configuration_set

    def send(self, message: OutboxMessage) -> str | None:
        if not _EMAIL.match(message.recipient):
            raise ValueError(f"cannot email {message.recipient!r}: not an email address")
        request: dict[str, Any] = {
            "FromEmailAddress": self.sender,
            "Destination": {"ToAddresses": [message.recipient]},
            "Content": {"Simple": {"Subject": {"Data": message.subject, "Charset": "UTF-8"},
                                   "Body": {"Text": {"Data": message.body, "Charset": "UTF-8"}}}},
            "EmailTags": [{"Name": "revloop_tenant", "Value": _tag(message.tenant)}],
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        return str(self._client.send_email(**request)["MessageId"])


def _tag(value: str) -> str:
    """SES tag values allow letters, digits, _ and - only."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", value)[:256] or "_"
