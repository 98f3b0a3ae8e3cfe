"""Per-tenant webhook secrets: generation, 0600 file, rotation, and secrets kept out of text."""

from __future__ import annotations

import base64
import json
import logging
import stat
import time
from pathlib import Path

import pytest

from connectors.webhooks.secrets import WebhookSecretFileError, WebhookSecretStore, ensure_local_secrets
from connectors.webhooks.verify import signed_headers, verify

KNOWN = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def write_secrets(path: Path, data: object, mode: int = 0o600) -> None:
    path.write_text(json.dumps(data))
    path.chmod(mode)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ensure_local_secrets_generates_strong_distinct_secrets_in_a_0600_file(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "webhooks.json"
    store = ensure_local_secrets(path, ["acme", "globex"], ["hubspot", "demo"])
    assert mode_of(path) == 0o600
    on_disk = json.loads(path.read_text())
    values = [s for by_source in on_disk.values() for secrets in by_source.values() for s in secrets]
    assert len(values) == len(set(values)) == 4
    for value in values:
        assert value.startswith("whsec_")
        assert len(base64.b64decode(value.removeprefix("whsec_"), validate=True)) == 32
    assert store.secrets_for("acme", "hubspot") == on_disk["acme"]["hubspot"]
    assert store.secrets_for("acme", "unknown") == []
    assert store.secrets_for("nobody", "hubspot") == []


def test_ensure_local_secrets_keeps_existing_secrets_and_adds_only_missing_ones(tmp_path: Path) -> None:
    path = tmp_path / "webhooks.json"
    write_secrets(path, {"acme": {"hubspot": [KNOWN]}})
    store = ensure_local_secrets(path, ["acme", "globex"], ["hubspot"])
    assert store.secrets_for("acme", "hubspot") == [KNOWN]
    assert len(store.secrets_for("globex", "hubspot")) == 1
    assert WebhookSecretStore.load(path).secrets_for("globex", "hubspot") == \
        store.secrets_for("globex", "hubspot")
    before = path.read_text()
    ensure_local_secrets(path, ["acme", "globex"], ["hubspot"])
    assert path.read_text() == before


def test_rotation_adds_a_secret_both_verify_and_the_retired_one_stops(tmp_path: Path) -> None:
    path = tmp_path / "webhooks.json"
    store = ensure_local_secrets(path, ["acme"], ["hubspot"])
    old = store.secrets_for("acme", "hubspot")[0]
    new = store.rotate("acme", "hubspot")
    assert store.secrets_for("acme", "hubspot") == [old, new]
    body = b'{"a": 1}'
    for secret in (old, new):
        headers = signed_headers(secret, "msg_1", 1_700_000_000, body)
        verify(headers, body, store.secrets_for("acme", "hubspot"), now=1_700_000_000)
    store.retire("acme", "hubspot", old)
    assert store.secrets_for("acme", "hubspot") == [new]
    assert WebhookSecretStore.load(path).secrets_for("acme", "hubspot") == [new]
    assert mode_of(path) == 0o600


def test_a_rotation_by_another_process_reaches_a_running_store(tmp_path: Path) -> None:
    path = tmp_path / "webhooks.json"
    running = ensure_local_secrets(path, ["acme"], ["hubspot"], refresh_seconds=0)
    old = running.secrets_for("acme", "hubspot")[0]
    cli = WebhookSecretStore.load(path)
    new = cli.rotate("acme", "hubspot")
    assert running.secrets_for("acme", "hubspot") == [old, new]
    cli.retire("acme", "hubspot", old)
    assert running.secrets_for("acme", "hubspot") == [new]


def test_retiring_an_inactive_secret_is_an_error_that_does_not_echo_it(tmp_path: Path) -> None:
    store = ensure_local_secrets(tmp_path / "w.json", ["acme"], ["hubspot"])
    with pytest.raises(ValueError) as caught:
        store.retire("acme", "hubspot", KNOWN)
    assert "MfKQ9r8G" not in str(caught.value)
    assert len(store.secrets_for("acme", "hubspot")) == 1


def test_a_file_readable_by_others_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "webhooks.json"
    write_secrets(path, {"acme": {"hubspot": [KNOWN]}}, mode=0o644)
    with pytest.raises(WebhookSecretFileError, match="chmod 600"):
        WebhookSecretStore.load(path)


@pytest.mark.parametrize("data", [
    ["whsec_x"],
    {"acme": ["whsec_x"]},
    {"acme": {"hubspot": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
    {"acme": {"hubspot": ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}},
    {"acme": {"hubspot": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!"]}},
])
def test_malformed_files_are_refused_without_echoing_secret_values(tmp_path: Path, data: object) -> None:
    path = tmp_path / "webhooks.json"
    write_secrets(path, data)
    with pytest.raises(WebhookSecretFileError) as caught:
        WebhookSecretStore.load(path)
    assert "MfKQ9r8G" not in str(caught.value)
    assert "whsec_x" not in str(caught.value)


def test_secret_values_never_appear_in_repr_or_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "webhooks.json"
    store = ensure_local_secrets(path, ["acme"], ["hubspot"])
    new = store.rotate("acme", "hubspot")
    text = repr(store) + str(store) + caplog.text
    for secret in store.secrets_for("acme", "hubspot") + [new]:
        assert secret not in text
        assert secret.removeprefix("whsec_")[:12] not in text
    assert "tenants=1" in repr(store)


def test_a_running_store_looks_at_the_file_at_most_every_refresh_interval(tmp_path: Path) -> None:
    path = tmp_path / "webhooks.json"
    running = ensure_local_secrets(path, ["acme"], ["hubspot"], refresh_seconds=0.3)
    old = running.secrets_for("acme", "hubspot")
    new = WebhookSecretStore.load(path).rotate("acme", "hubspot")
    assert running.secrets_for("acme", "hubspot") == old  # not looked yet
    time.sleep(0.35)
    assert running.secrets_for("acme", "hubspot") == old + [new]


def test_hubspot_client_secrets_are_added_validated_and_kept_apart_from_whsec(tmp_path: Path) -> None:
    path = tmp_path / "webhooks.json"
    store = ensure_local_secrets(path, ["acme"], ["hubspot"])
    store.add("acme", "hubspot", "hsv3_0f9c2d3e-app-client-secret")
    store.add("acme", "hubspot", "hsv3_0f9c2d3e-app-client-secret")  # idempotent
    assert [s[:5] for s in WebhookSecretStore.load(path).secrets_for("acme", "hubspot")] == ["whsec", "hsv3_"]
    for bad in ("hsv3_short", "hsv3_has space in it", "plain-client-secret"):
        with pytest.raises(WebhookSecretFileError) as caught:
            store.add("acme", "hubspot", bad)
        assert bad.removeprefix("hsv3_") not in str(caught.value)
    assert len(store.secrets_for("acme", "hubspot")) == 2
