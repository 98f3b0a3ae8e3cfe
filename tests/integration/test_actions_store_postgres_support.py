"""A throwaway PostgreSQL for the store contract tests (no tests here).

The session fixture runs scripts/ensure_postgres.sh, which installs Debian's postgresql when it is
missing: these tests never skip for want of a server. Each test gets a fresh database."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ensure_postgres.sh"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The admin URL of a cluster started for this test session (stopped and deleted after it)."""
    # Not under pytest's tmp dir: that is private to root, and the server runs as `postgres`.
    directory = Path(tempfile.mkdtemp(prefix="revloop-pg-"))
    try:
        started = subprocess.run([str(SCRIPT), "start", str(directory)], capture_output=True, text=True,
                                 timeout=600)
        if started.returncode != 0:
            raise RuntimeError(f"ensure_postgres.sh failed ({started.returncode}):\n{started.stderr}")
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(SCRIPT), "stop", str(directory)], capture_output=True, timeout=120)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A new, empty database on the session's cluster."""
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield postgres_server.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
