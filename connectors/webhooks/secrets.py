"""Per-tenant, per-source webhook signing secrets, kept in a 0600 JSON file.

Two kinds of value: ``whsec_<base64>`` (Standard Webhooks, generated here) and ``hsv3_<client secret>``
(a HubSpot app's client secret, issued by HubSpot and registered with :meth:`WebhookSecretStore.add`).

Several secrets may be active at once (rotation: add the new one, let senders switch, retire the old).
Secret values never appear in reprs, logs or error messages. The file is re-read when it changes on
disk, so a rotation done by another process (the CLI) reaches a running receiver within
``refresh_seconds`` (reads check the file at most that often: a stat per request costs the receiver
a syscall while its group-commit thread wants the GIL)."""

from __future__ import annotations

import base64
import json
import os
import secrets as token_source
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connectors.webhooks.hubspot import HUBSPOT_SECRET_PREFIX, client_secret_of, is_hubspot_secret
from connectors.webhooks.verify import SECRET_PREFIX, InvalidWebhookSecretError, secret_key

SecretMap = dict[str, dict[str, list[str]]]


class WebhookSecretFileError(ValueError):
    """The secrets file is unreadable, malformed or readable by others."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(token_source.token_bytes(32)).decode("ascii")


class WebhookSecretStore:
    """Active secrets by (tenant, source). ``path`` set: every change is written back atomically."""

    def __init__(self, secrets: SecretMap | None = None, path: Path | None = None,
                 refresh_seconds: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._refresh_seconds = refresh_seconds
        self._checked_at = time.monotonic()
        self._secrets: SecretMap = _validated(secrets or {}, "the given secrets")
        self._path = path
        self._stamp: tuple[int, int, int] | None = _stamp(path) if path is not None else None

    @classmethod
    def load(cls, path: Path, refresh_seconds: float = 1.0) -> WebhookSecretStore:
        return cls(_read(path), path, refresh_seconds)

    def __repr__(self) -> str:
        with self._lock:
            pairs = sum(len(sources) for sources in self._secrets.values())
        return f"WebhookSecretStore(path={self._path!s}, tenants={len(self._secrets)}, pairs={pairs})"

    def tenants(self) -> list[str]:
        self._refresh(self._refresh_seconds)
        with self._lock:
            return sorted(self._secrets)

    def secrets_for(self, tenant: str, source: str) -> list[str]:
        self._refresh(self._refresh_seconds)
        with self._lock:
            return list(self._secrets.get(tenant, {}).get(source, []))

    def rotate(self, tenant: str, source: str) -> str:
        """Add a fresh secret next to the active ones and return it (hand it to the sender)."""
        secret = new_secret()
        self._change(lambda current: current + [secret], tenant, source)
        return secret

    def add(self, tenant: str, source: str, secret: str) -> None:
        """Accept a secret issued elsewhere (a HubSpot app's ``hsv3_<client secret>``, or a
        ``whsec_`` secret a sender generated) next to the active ones."""
        _validated({tenant: {source: [secret]}}, "the added secret")

        def with_secret(current: list[str]) -> list[str]:
            return current if secret in current else current + [secret]
        self._change(with_secret, tenant, source)

    def retire(self, tenant: str, source: str, secret: str) -> None:
        """Stop accepting ``secret``; deliveries signed only with it are rejected from now on."""
        def without(current: list[str]) -> list[str]:
            if secret not in current:
                raise ValueError(f"that secret is not active for tenant '{tenant}', source '{source}'")
            return [s for s in current if s != secret]
        self._change(without, tenant, source)

    def add_missing(self, tenants: list[str], sources: list[str]) -> bool:
        """Give every (tenant, source) without a secret a fresh one; True if anything was added."""
        self._refresh()
        with self._lock:
            added = False
            for tenant in tenants:
                for source in sources:
                    by_source = self._secrets.setdefault(tenant, {})
                    if not by_source.get(source):
                        by_source[source] = [new_secret()]
                        added = True
            if added:
                self._save()
            return added

    def _change(self, edit: Callable[[list[str]], list[str]], tenant: str, source: str) -> None:
        self._refresh()
        with self._lock:
            updated = edit(list(self._secrets.get(tenant, {}).get(source, [])))
            by_source = self._secrets.setdefault(tenant, {})
            by_source[source] = updated
            if not updated:
                del by_source[source]
            if not by_source:
                del self._secrets[tenant]
            self._save()

    def _refresh(self, max_age: float = 0.0) -> None:
        """Re-read the file if it changed; writers always look (max_age 0) so no update is lost."""
        if self._path is None or (max_age and time.monotonic() - self._checked_at < max_age):
            return
        with self._lock:
            self._checked_at = time.monotonic()
            stamp = _stamp(self._path)
            if stamp != self._stamp:
                self._secrets = _read(self._path)
                self._stamp = stamp

    def _save(self) -> None:
        if self._path is None:
            return
        _write(self._path, self._secrets)
        self._stamp = _stamp(self._path)


def ensure_local_secrets(path: Path, tenants: list[str], sources: list[str],
                         refresh_seconds: float = 1.0) -> WebhookSecretStore:
    """Local profile: load ``path`` (or start empty) and generate secrets for missing pairs."""
    if not path.exists():
        _write(path, {})
    store = WebhookSecretStore.load(path, refresh_seconds)
    store.add_missing(tenants, sources)
    return store


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


def _read(path: Path) -> SecretMap:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WebhookSecretFileError(f"cannot read webhook secrets file {path}: {exc.strerror}") from None
    if mode & 0o077:
        raise WebhookSecretFileError(
            f"webhook secrets file {path} has mode {mode:04o}; it must be readable by its owner "
            f"only: run 'chmod 600 {path}'")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise WebhookSecretFileError(
            f"webhook secrets file {path} is not valid JSON (line {getattr(exc, 'lineno', '?')}); "
            'expected {"<tenant>": {"<source>": ["whsec_...", ...]}}') from None
    return _validated(data, str(path))


def _validated(data: Any, where: str) -> SecretMap:
    shape = 'expected {"<tenant>": {"<source>": ["whsec_...", ...]}}'
    if not isinstance(data, dict):
        raise WebhookSecretFileError(f"webhook secrets in {where}: top level is not an object; {shape}")
    out: SecretMap = {}
    for tenant, by_source in data.items():
        if not isinstance(by_source, dict):
            raise WebhookSecretFileError(f"webhook secrets in {where}: tenant '{tenant}' is not an "
                                         f"object; {shape}")
        for source, values in by_source.items():
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise WebhookSecretFileError(f"webhook secrets in {where}: tenant '{tenant}', source "
                                             f"'{source}' is not a list of strings; {shape}")
            for index, value in enumerate(values):
                if is_hubspot_secret(value):
                    if not _usable_client_secret(client_secret_of(value)):
                        raise WebhookSecretFileError(
                            f"webhook secrets in {where}: tenant '{tenant}', source '{source}', secret "
                            f"#{index + 1} is not '{HUBSPOT_SECRET_PREFIX}' followed by the app's "
                            "client secret (8+ printable ASCII characters, no spaces)")
                    continue
                try:
                    if not value.startswith(SECRET_PREFIX):
                        raise InvalidWebhookSecretError("missing prefix")
                    secret_key(value)
                except InvalidWebhookSecretError:
                    raise WebhookSecretFileError(
                        f"webhook secrets in {where}: tenant '{tenant}', source '{source}', secret "
                        f"#{index + 1} is not 'whsec_' followed by base64; replace it") from None
            if values:
                out.setdefault(str(tenant), {})[str(source)] = list(values)
    return out


def _usable_client_secret(value: str) -> bool:
    return len(value) >= 8 and value.isascii() and value.isprintable() and " " not in value


def _write(path: Path, secrets: SecretMap) -> None:
    """Write to a 0600 temporary file next to ``path``, fsync, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # O_CREAT's mode is masked by umask and ignored for an existing file
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(secrets, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
