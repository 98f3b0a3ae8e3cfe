"""SOQL pages over simple-salesforce, each retried on transient failures.

Paging is done here (``query`` then ``query_more(nextRecordsUrl)``) rather than with
``query_all_iter`` so that a failure on page 7 retries page 7, not the whole query. Logging in (for
username/password credentials) happens on the first query, not at construction."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

from connectors.credentials import SalesforceCredentials
from connectors.retry import Retryable, RetryPolicy, call_with_retry, parse_retry_after

Json = dict[str, Any]
API_VERSION = "62.0"
_TIMEOUT = 120.0


class SalesforceRequestFailed(RuntimeError):
    """Salesforce refused a request for a reason retrying cannot fix."""

    def __init__(self, what: str, status: int, message: str, hint: str) -> None:
        self.status = status
        super().__init__(f"{what}: Salesforce answered HTTP {status}: {message}. {hint}")


def _errors(content: Any) -> tuple[str, str]:
    """(errorCode, message) of Salesforce's ``[{"errorCode": ..., "message": ...}]`` error body."""
    first = content[0] if isinstance(content, list) and content else content
    if isinstance(first, dict):
        return str(first.get("errorCode", "")), str(first.get("message", ""))
    return "", str(first)[:300]


def _hint(status: int, code: str, message: str) -> str:
    if status == 401:
        return ("The session is invalid or expired; supply a fresh session id, or username, password and "
                "security token so the connector can log in")
    if code == "REQUEST_LIMIT_EXCEEDED":
        return "The org's 24-hour API request limit is used up; pull again when the rolling window frees up"
    if code in ("INVALID_FIELD", "INVALID_TYPE"):
        return ("The query names a field or object the org lacks; check the custom field names in "
                "SalesforceFields")
    if status == 403:
        return "The user lacks API access or read permission on the object; grant it in the org"
    return "Check the query and the org"


class SalesforceApi:
    def __init__(self, credentials: SalesforceCredentials, *, session: requests.Session | None = None,
                 version: str = API_VERSION, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._credentials = credentials
        self._session = session or requests.Session()
        self._session.hooks["response"].append(self._remember_retry_after)
        self._version = version
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._client: Salesforce | None = None
        self._retry_after: float | None = None

    def _remember_retry_after(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._retry_after = parse_retry_after(response.headers.get("Retry-After"))

    def _sf(self) -> Salesforce:
        if self._client is None:
            c = self._credentials
            try:
                if c.session_id and c.instance_url:
                    self._client = Salesforce(instance_url=c.instance_url, session_id=c.session_id,
                                              session=self._session, version=self._version)
                else:
                    self._client = Salesforce(username=c.username, password=c.password,
                                              security_token=c.security_token, domain=c.domain,
                                              session=self._session, version=self._version)
            except SalesforceAuthenticationFailed as error:
                raise SalesforceRequestFailed(
                    "Salesforce login", 401, str(getattr(error, "auth_message", error)),
                    "Check the username, password, security token and domain (login/test/My Domain)"
                ) from error
        return self._client

    def classify(self, error: Exception) -> Retryable | None:
        if isinstance(error, (requests.ConnectionError, requests.Timeout)):
            return Retryable(0, f"{type(error).__name__}: {error}")
        if not isinstance(error, SalesforceError):
            return None
        status = int(error.status or 0)
        code, message = _errors(error.content)
        detail = f"{code}: {message}" if code else message
        if code == "REQUEST_LIMIT_EXCEEDED":
            # The concurrent long-request limit clears in seconds; the 24-hour TotalRequests one does not.
            return None if "TotalRequests" in message else Retryable(status, detail, self._retry_after)
        if status == 429 or status >= 500:
            return Retryable(status, detail, self._retry_after)
        return None

    def _call(self, what: str, fn: Callable[[Salesforce], Json]) -> Json:
        try:
            return call_with_retry(lambda: fn(self._sf()), what=what, classify=self.classify,
                                   policy=self._retry, sleep=self._sleep)
        except SalesforceError as error:
            code, message = _errors(error.content)
            raise SalesforceRequestFailed(what, int(error.status or 0), f"{code} {message}".strip(),
                                          _hint(int(error.status or 0), code, message)) from error

    def query(self, sobject: str, soql: str) -> Json:
        return self._call(f"Salesforce {sobject} query", lambda sf: sf.query(soql, timeout=_TIMEOUT))

    def query_more(self, sobject: str, next_records_url: str) -> Json:
        return self._call(f"Salesforce {sobject} query page {next_records_url}",
                          lambda sf: sf.query_more(next_records_url, identifier_is_url=True,
                                                   timeout=_TIMEOUT))
