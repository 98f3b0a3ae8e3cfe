"""HubSpot CRM v3/v4 calls over hubspot-api-client, each throttled and retried, returning vendor JSON.

Responses are read raw (``_preload_content=False``) so a record the SDK's models would reject (a
missing id, an odd date) still reaches perception, which quarantines it with a reason."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import urllib3
from hubspot import HubSpot
from hubspot.crm.associations.v4.exceptions import ApiException as AssociationsApiException
from hubspot.crm.objects.exceptions import ApiException as ObjectsApiException
from hubspot.crm.owners.exceptions import ApiException as OwnersApiException
from hubspot.crm.pipelines.exceptions import ApiException as PipelinesApiException
from urllib3.util.retry import Retry

from connectors.credentials import HubSpotCredentials
from connectors.retry import Retryable, RetryPolicy, Throttle, call_with_retry, parse_retry_after

Json = dict[str, Any]
# Each generated sub-package of the SDK raises its own ApiException class.
ApiException = (ObjectsApiException, AssociationsApiException, PipelinesApiException, OwnersApiException)
ApiError = ObjectsApiException | AssociationsApiException | PipelinesApiException | OwnersApiException
_TIMEOUT = 60.0


class HubSpotRequestFailed(RuntimeError):
    """HubSpot refused a request for a reason retrying cannot fix (auth, scope, daily quota)."""

    def __init__(self, what: str, status: int, message: str, hint: str) -> None:
        self.status = status
        super().__init__(f"{what}: HubSpot answered HTTP {status}: {message}. {hint}")


def _body(error: ApiError) -> Json:
    raw = error.body
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        return {"message": str(raw)[:300]}
    return parsed if isinstance(parsed, dict) else {}


def _header(error: ApiError, name: str) -> str | None:
    headers = error.headers or {}
    return headers.get(name) if hasattr(headers, "get") else None


def classify(error: Exception) -> Retryable | None:
    if isinstance(error, urllib3.exceptions.HTTPError):
        return Retryable(0, f"{type(error).__name__}: {error}")
    if not isinstance(error, ApiException):
        return None
    status = int(error.status or 0)
    body = _body(error)
    detail = str(body.get("message") or error.reason or "no message")
    retry_after = parse_retry_after(_header(error, "Retry-After"))
    if status == 429:
        policy = str(body.get("policyName", ""))
        if policy == "DAILY":
            return None
        if retry_after is None and "SECONDLY" in policy:
            retry_after = 1.0  # the secondly windows reset within a second
        return Retryable(429, f"{policy or 'rate limited'}: {detail}", retry_after)
    if status == 0 or status >= 500:
        return Retryable(status, detail, retry_after)
    return None


_HINTS = {
    401: "The access token is invalid or expired; issue a new private app token and update the secret",
    403: "The token lacks a scope; grant crm.objects.companies/contacts/deals.read, crm.objects.owners.read "
         "and the notes/tasks read scopes to the private app",
    429: "HubSpot's daily API limit is used up; the pull can resume after midnight in the portal's time zone",
}


class HubSpotApi:
    """The few CRM endpoints a pull needs. ``host`` points the SDK at another base URL (tests)."""

    def __init__(self, credentials: HubSpotCredentials, *, host: str | None = None,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, requests_per_second: float = 9.0,
                 search_requests_per_second: float = 4.0) -> None:
        # urllib3 must not retry (it would sleep out Retry-After itself, unbounded by our policy).
        no_retry = Retry(total=0, respect_retry_after_header=False, raise_on_status=False)
        options: dict[str, Any] = {"access_token": credentials.access_token, "retry": no_retry}
        if host is not None:
            options["host"] = host.rstrip("/")
        crm = HubSpot(**options).crm
        self._objects = crm.objects.basic_api
        self._search = crm.objects.search_api
        self._associations = crm.associations.v4.batch_api
        self._pipelines = crm.pipelines.pipelines_api
        self._owners = crm.owners.owners_api
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._throttle = Throttle(requests_per_second, clock, sleep)
        self._search_throttle = Throttle(search_requests_per_second, clock, sleep)

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, search: bool = False, **kwargs: Any
              ) -> Json:
        def once() -> Json:
            self._throttle.wait()
            if search:
                self._search_throttle.wait()
            response = fn(*args, _preload_content=False, _request_timeout=_TIMEOUT, **kwargs)
            try:
                data = response.data
            finally:
                response.release_conn()
            parsed = json.loads(data) if data else {}
            return parsed if isinstance(parsed, dict) else {"results": parsed}

        try:
            return call_with_retry(once, what=what, classify=classify, policy=self._retry, sleep=self._sleep)
        except ApiException as error:
            status = int(error.status or 0)
            message = str(_body(error).get("message") or error.reason)
            raise HubSpotRequestFailed(what, status, message,
                                       _HINTS.get(status, "Check the request and the portal")) from error

    def list_page(self, object_type: str, properties: list[str], after: str | None) -> Json:
        return self._call(f"HubSpot {object_type} list (after={after})", self._objects.get_page,
                          object_type, limit=100, after=after, properties=properties, archived=False)

    def search_page(self, object_type: str, request: Json) -> Json:
        return self._call(f"HubSpot {object_type} search (after={request.get('after')})",
                          self._search.do_search, object_type, request, search=True)

    def associations(self, from_type: str, to_type: str, ids: list[str]) -> Json:
        return self._call(f"HubSpot {from_type}->{to_type} associations", self._associations.get_page,
                          from_type, to_type, {"inputs": [{"id": i} for i in ids]})

    def deal_pipelines(self) -> Json:
        return self._call("HubSpot deal pipelines", self._pipelines.get_all, "deals")

    def owners_page(self, after: str | None) -> Json:
        return self._call(f"HubSpot owners (after={after})", self._owners.get_page, limit=500, after=after)
