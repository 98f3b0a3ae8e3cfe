"""Neptune IAM auth at the connection boundary: the SigV4-signed handshake headers, checked by hand."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

import pytest
from botocore.credentials import ReadOnlyCredentials

from world_model import neptune
from world_model.neptune import NeptuneConfigError, NeptuneEndpoint, neptune_handshake_headers

HOST = "revloop.cluster-abc123xyz.eu-west-1.neptune.amazonaws.com"
CREDENTIALS = ReadOnlyCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    moment = datetime(2026, 1, 3, 9, 15, 30)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda *a, **k: moment)
    return moment


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def expected_signature(secret: str, date: str, stamp: str, region: str, canonical: str) -> str:
    """SigV4 from its specification, independent of botocore."""
    scope = f"{date}/{region}/neptune-db/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode(), date), region), "neptune-db"), "aws4_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def test_handshake_headers_are_a_valid_sigv4_signature_for_neptune_db(frozen_clock: datetime) -> None:
    endpoint = NeptuneEndpoint(host=HOST, region="eu-west-1")

    headers = neptune_handshake_headers(endpoint, CREDENTIALS)

    assert headers["Host"] == f"{HOST}:8182"
    assert headers["X-Amz-Date"] == "20260103T091530Z"
    authorization = headers["Authorization"]
    assert authorization.startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260103/eu-west-1/neptune-db/aws4_request, ")
    assert "SignedHeaders=host;x-amz-date, " in authorization
    canonical = "\n".join(["GET", "/gremlin", "", f"host:{HOST}:8182", "x-amz-date:20260103T091530Z", "",
                           "host;x-amz-date", hashlib.sha256(b"").hexdigest()])
    signature = expected_signature(CREDENTIALS.secret_key, "20260103", "20260103T091530Z", "eu-west-1",
                                   canonical)
    assert authorization.endswith(f"Signature={signature}")
    assert "X-Amz-Security-Token" not in headers


def test_temporary_credentials_send_and_sign_their_session_token(frozen_clock: datetime) -> None:
    temporary = ReadOnlyCredentials("ASIAEXAMPLE", "secret", "FwoGZXIvYXdzEXAMPLETOKEN")

    headers = neptune_handshake_headers(NeptuneEndpoint(host=HOST, region="us-east-1"), temporary)

    assert headers["X-Amz-Security-Token"] == "FwoGZXIvYXdzEXAMPLETOKEN"
    assert "SignedHeaders=host;x-amz-date;x-amz-security-token, " in headers["Authorization"]
    assert "/us-east-1/neptune-db/aws4_request" in headers["Authorization"]


def test_a_changed_region_or_key_changes_the_signature(frozen_clock: datetime) -> None:
    base = neptune_handshake_headers(NeptuneEndpoint(host=HOST, region="eu-west-1"), CREDENTIALS)
    other_region = neptune_handshake_headers(NeptuneEndpoint(host=HOST, region="eu-central-1"), CREDENTIALS)
    other_key = neptune_handshake_headers(NeptuneEndpoint(host=HOST, region="eu-west-1"),
                                          ReadOnlyCredentials("AKIDEXAMPLE", "another", None))

    assert len({base["Authorization"], other_region["Authorization"], other_key["Authorization"]}) == 3


@pytest.mark.parametrize("host", ["wss://x.neptune.amazonaws.com", "x.neptune.amazonaws.com:8182", ""])
def test_endpoint_refuses_a_url_where_a_host_belongs(host: str) -> None:
    with pytest.raises(NeptuneConfigError, match="bare hostname"):
        NeptuneEndpoint(host=host, region="us-east-1")


def test_endpoint_url_is_wss_on_8182() -> None:
    assert NeptuneEndpoint(host=HOST, region="eu-west-1").url == f"wss://{HOST}:8182/gremlin"
    with pytest.raises(NeptuneConfigError, match="region"):
        NeptuneEndpoint(host=HOST, region="")


def test_no_aws_credentials_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoCredentials:
        def get_credentials(self) -> None:
            return None

    with pytest.raises(NeptuneConfigError, match="no AWS credentials"):
        neptune.boto3_credentials(NoCredentials())  # type: ignore[arg-type]
