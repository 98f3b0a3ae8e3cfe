"""CRM credentials from an env-like mapping or a secrets directory; never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.credentials import (
    MissingCredentials,
    hubspot_credentials,
    read_values,
    salesforce_credentials,
)


def test_hubspot_token_from_mapping_and_missing_names_the_variable(tmp_path: Path) -> None:
    creds = hubspot_credentials({"REVLOOP_HUBSPOT_TOKEN": " pat-na1-secret \n"})
    assert creds.access_token == "pat-na1-secret"
    assert "pat-na1-secret" not in repr(creds)
    where = f"REVLOOP_HUBSPOT_TOKEN in the environment or as files in {tmp_path}"
    with pytest.raises(MissingCredentials, match=where):
        hubspot_credentials({"REVLOOP_HUBSPOT_TOKEN": "  "}, secrets_dir=tmp_path)


def test_secrets_directory_files_and_tenant_suffix_win_in_order(tmp_path: Path) -> None:
    (tmp_path / "REVLOOP_HUBSPOT_TOKEN").write_text("shared-token\n")
    (tmp_path / "REVLOOP_HUBSPOT_TOKEN__GLOBEX_EU").write_text("globex-token")
    assert hubspot_credentials({}, tmp_path).access_token == "shared-token"
    assert hubspot_credentials({}, tmp_path, tenant="globex-eu").access_token == "globex-token"
    env = {"REVLOOP_HUBSPOT_TOKEN": "env"}
    assert hubspot_credentials(env, tmp_path, tenant="acme").access_token == "env"
    with pytest.raises(MissingCredentials, match="REVLOOP_HUBSPOT_TOKEN__ACME or REVLOOP_HUBSPOT_TOKEN"):
        hubspot_credentials({}, tenant="acme")


def test_salesforce_session_or_login_and_what_is_missing_for_each() -> None:
    session = salesforce_credentials({"REVLOOP_SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com",
                                      "REVLOOP_SALESFORCE_SESSION_ID": "00D!secret"})
    assert session.session_id == "00D!secret" and "00D!secret" not in repr(session)
    login = salesforce_credentials({"REVLOOP_SALESFORCE_USERNAME": "bot@acme.test",
                                    "REVLOOP_SALESFORCE_PASSWORD": "pw-secret",
                                    "REVLOOP_SALESFORCE_SECURITY_TOKEN": "tok-secret",
                                    "REVLOOP_SALESFORCE_DOMAIN": "test"})
    assert (login.username, login.domain) == ("bot@acme.test", "test")
    assert "pw-secret" not in repr(login) and "tok-secret" not in repr(login)
    with pytest.raises(MissingCredentials) as caught:
        salesforce_credentials({"REVLOOP_SALESFORCE_USERNAME": "bot@acme.test",
                                "REVLOOP_SALESFORCE_PASSWORD": "pw-secret"})
    message = str(caught.value)
    assert "REVLOOP_SALESFORCE_SECURITY_TOKEN" in message and "REVLOOP_SALESFORCE_SESSION_ID" in message
    assert "REVLOOP_SALESFORCE_USERNAME" not in message and "pw-secret" not in message


def test_read_values_leaves_out_what_is_absent() -> None:
    assert read_values(["A", "B"], {"A": "1", "B": ""}) == {"A": "1"}
