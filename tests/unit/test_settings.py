from pathlib import Path

import pytest
from pydantic import ValidationError

from revloop.settings import load_settings


def test_defaults_are_the_local_profile_under_one_data_dir(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for key in list(__import__("os").environ):
        if key.startswith("REVLOOP_"):
            monkeypatch.delenv(key)
    settings = load_settings()
    assert settings.profile == "local"
    assert settings.data_dir == tmp_path / ".data"
    for path in (settings.paths.state_db, settings.paths.graph_db, settings.paths.vectors,
                 settings.paths.iceberg_catalog, settings.paths.lake, settings.paths.dagster_home):
        assert settings.data_dir in path.parents


def test_environment_variables_configure_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REVLOOP_DATA_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("REVLOOP_DEMO_TENANTS", "a, b ,c")
    monkeypatch.setenv("REVLOOP_DEMO_ACCOUNTS_PER_TENANT", "5")
    settings = load_settings()
    assert settings.data_dir == tmp_path / "state"
    assert settings.tenants == ["a", "b", "c"]
    assert settings.demo_accounts_per_tenant == 5


def test_bad_values_are_refused_with_the_variable_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVLOOP_PROFILE", "aws")
    with pytest.raises(ValidationError, match="profile"):
        load_settings()


def test_ensure_creates_a_private_secrets_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "d")
    settings.paths.ensure()
    assert (settings.paths.secrets.stat().st_mode & 0o777) == 0o700
