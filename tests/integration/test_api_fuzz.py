"""schemathesis over the review API's OpenAPI (RELIABILITY 20; the webhook route has its own file).

Each operation gets 1,000 generated requests, valid and invalid, from an authenticated approver over a
real SQLite store holding proposals of two tenants. Stateful sequences then follow the documented
links (list -> one proposal -> decide / edit / ask). Every answer is checked by schemathesis's default
checks:
- no 5xx;
- status codes, content types and bodies as documented;
- ``ignored_auth``: an operation that answers 2xx with credentials is probed again without them and
  with invalid ones, and must refuse both."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from actions.auth import SESSION_COOKIE
from tests.integration.test_actions_web_support import ReviewEnv

EXAMPLES = 1000
OPERATIONS = [("GET", "/api/token"), ("GET", "/api/me"), ("GET", "/api/proposals"),
              ("GET", "/api/proposals/{proposal_id}"), ("POST", "/api/proposals/{proposal_id}/decisions"),
              ("POST", "/api/proposals/{proposal_id}/edits"),
              ("POST", "/api/proposals/{proposal_id}/info-requests")]


class Fuzzed:
    def __init__(self, root: Path) -> None:
        self.env = ReviewEnv(root)
        self.database = root / "state.sqlite"  # ReviewEnv's store, ledger included
        self.pristine = sqlite3.connect(":memory:")
        with closing(sqlite3.connect(self.database)) as live:
            live.backup(self.pristine)
        self.schema = schemathesis.openapi.from_asgi("/openapi.json", self.env.app)
        token = self.env.auth.issue_token("ada")  # approver of every tier in acme
        with TestClient(self.env.app, follow_redirects=False) as client:
            assert client.post("/login", data={"username": "ada", "next": "/review"}).status_code == 303
            session = client.cookies[SESSION_COOKIE]

        @self.schema.auth()
        class Credentials:
            """Set as schemathesis's auth provider, so it knows which requests carry credentials: it
            leaves them out of cases whose credentials it negated, and probes ignored auth."""

            def get(self, case: schemathesis.Case, context: Any) -> str:
                return session if case.path == "/api/token" else token

            def set(self, case: schemathesis.Case, data: str, context: Any) -> None:
                if case.path == "/api/token":
                    case.cookies = {**(case.cookies or {}), SESSION_COOKIE: data}
                else:
                    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


    def reset(self) -> None:
        """Back to the proposals as seeded: each stateful scenario starts from the same store, which
        hypothesis needs to replay and shrink a failing one. SQLite's backup API writes the pages
        under the open connections, which see the restored content in their next transaction."""
        with closing(sqlite3.connect(self.database)) as live:
            self.pristine.backup(live)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    yield Fuzzed(tmp_path_factory.mktemp("api-fuzz"))


def test_the_schema_lists_exactly_the_fuzzed_operations(fuzzed: Fuzzed) -> None:
    served = {(method.upper(), path) for path, item in fuzzed.env.app.openapi()["paths"].items()
              for method in item if path.startswith("/api/")}
    assert served == set(OPERATIONS), "a new API operation needs a line in OPERATIONS"


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_generated_requests_get_no_server_error_and_conform_to_the_schema(
        fuzzed: Fuzzed, method: str, path: str) -> None:
    operation = fuzzed.schema[path][method]
    cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)
    statuses: dict[int, int] = {}

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=cases)
    def fuzz(case: schemathesis.Case) -> None:
        response = case.call_and_validate()
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    fuzz()
    assert not any(status >= 500 for status in statuses), statuses
    assert sum(statuses.values()) >= EXAMPLES


def test_stateful_sequences_along_the_links_get_no_server_error(tmp_path: Path) -> None:
    fuzzed = Fuzzed(tmp_path)

    answered: dict[tuple[str, int], int] = {}

    class ReviewApi(fuzzed.schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            fuzzed.reset()

        def after_call(self, response: Any, case: schemathesis.Case) -> None:
            key = (case.operation.label, response.status_code)
            answered[key] = answered.get(key, 0) + 1

    ReviewApi.run(settings=settings(max_examples=200, stateful_step_count=6, deadline=None, database=None,
                                    suppress_health_check=list(HealthCheck)))
    assert not any(status >= 500 for _, status in answered), answered
    # Generated ids name no proposal; a 200 here means a listed proposal's id came through a link.
    assert answered.get(("GET /api/proposals/{proposal_id}", 200), 0) > 0, sorted(answered.items())
