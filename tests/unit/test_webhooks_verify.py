"""Standard Webhooks v1 verifier: RELIABILITY.md Webhooks items 1-4."""

from __future__ import annotations

import ast
import inspect
import json
import random

import pytest

from connectors.webhooks import verify as verify_module
from connectors.webhooks.verify import (
    InvalidWebhookSecretError,
    WebhookVerificationError,
    sign,
    signed_headers,
    verify,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
OTHER_SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="


def known_headers(**overrides: str) -> dict[str, str]:
    headers = {"webhook-id": MSG_ID, "webhook-timestamp": str(TIMESTAMP), "webhook-signature": SIGNATURE}
    headers.update(overrides)
    return headers


def rejection(headers: dict[str, str], body: bytes = BODY, secrets: list[str] | None = None,
              now: int = TIMESTAMP) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        verify(headers, body, secrets if secrets is not None else [SECRET], now=now)
    return caught.value.code


def one_byte_mutations(value: bytes) -> list[bytes]:
    """Every single-bit flip of every byte: 8 distinct one-byte mutations per position."""
    return [value[:i] + bytes([value[i] ^ (1 << bit)]) + value[i + 1:]
            for i in range(len(value)) for bit in range(8)]


def test_known_answer_signature_and_acceptance() -> None:
    assert sign(SECRET, MSG_ID, TIMESTAMP, BODY) == SIGNATURE
    delivery = verify(known_headers(), BODY, [SECRET], now=TIMESTAMP)
    assert (delivery.delivery_id, delivery.timestamp) == (MSG_ID, TIMESTAMP)


def test_every_one_byte_mutation_of_the_body_is_rejected() -> None:
    for body in one_byte_mutations(BODY):
        assert rejection(known_headers(), body=body) == "no_matching_signature"


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_every_one_byte_mutation_of_a_header_is_rejected(name: str) -> None:
    original = known_headers()[name].encode("latin-1")
    mutations = one_byte_mutations(original)
    assert len(mutations) == 8 * len(original)
    codes = {rejection(known_headers(**{name: m.decode("latin-1")})) for m in mutations}
    assert codes <= {"no_matching_signature", "invalid_timestamp", "timestamp_out_of_tolerance",
                     "missing_header"}


def test_non_canonical_base64_of_the_right_digest_is_rejected() -> None:
    # 'E' -> 'F' changes only the unused low bits of the last base64 digit: same decoded bytes.
    assert SIGNATURE.endswith("1OE=")
    assert rejection(known_headers(**{"webhook-signature": SIGNATURE[:-2] + "F="})) == \
        "no_matching_signature"


@pytest.mark.parametrize("offset", [-299, 299, -300, 300, 0])
def test_timestamps_inside_the_window_are_accepted(offset: int) -> None:
    timestamp = TIMESTAMP + offset
    headers = signed_headers(SECRET, MSG_ID, timestamp, BODY)
    assert verify(headers, BODY, [SECRET], now=TIMESTAMP).timestamp == timestamp


@pytest.mark.parametrize("offset", [-301, 301, -86_400, 10**9])
def test_timestamps_outside_the_window_are_rejected_even_when_signed(offset: int) -> None:
    headers = signed_headers(SECRET, MSG_ID, TIMESTAMP + offset, BODY)
    assert rejection(headers) == "timestamp_out_of_tolerance"


@pytest.mark.parametrize("raw", ["abc", "1614265330.0", "1614265330.5", "1.6e9", "-1614265330",
                                 "+1614265330", " 1614265330", "1614_265_330", "١٦١٤٢٦٥٣٣٠",
                                 "0x603805F2", "99999999999999999999"])
def test_non_integer_timestamps_are_invalid(raw: str) -> None:
    assert rejection(known_headers(**{"webhook-timestamp": raw})) == "invalid_timestamp"


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_or_empty_headers_are_rejected(name: str, value: str | None) -> None:
    headers = known_headers()
    if value is None:
        del headers[name]
    else:
        headers[name] = value
    assert rejection(headers) == "missing_header"


def test_header_names_are_case_insensitive() -> None:
    headers = {key.upper(): value for key, value in known_headers().items()}
    assert verify(headers, BODY, [SECRET], now=TIMESTAMP).delivery_id == MSG_ID


def test_one_valid_signature_among_four_is_accepted() -> None:
    others = [sign(OTHER_SECRET, MSG_ID, TIMESTAMP, BODY), "v1,bm90IGEgc2lnbmF0dXJl", "v2,whatever"]
    for position in range(4):
        entries = others[:position] + [SIGNATURE] + others[position:]
        assert verify(known_headers(**{"webhook-signature": " ".join(entries)}), BODY, [SECRET],
                      now=TIMESTAMP).delivery_id == MSG_ID


def test_only_unknown_versions_are_rejected() -> None:
    digest = SIGNATURE.partition(",")[2]
    for header in (f"v2,{digest}", f"v1a,{digest}", digest, f"V1,{digest}", f"v1a,{digest} v2,{digest}"):
        assert rejection(known_headers(**{"webhook-signature": header})) == "no_matching_signature"


def test_rotation_accepts_either_active_secret_and_rejects_a_retired_one() -> None:
    for secret in (SECRET, OTHER_SECRET):
        headers = signed_headers(secret, MSG_ID, TIMESTAMP, BODY)
        assert verify(headers, BODY, [SECRET, OTHER_SECRET], now=TIMESTAMP).delivery_id == MSG_ID
    assert rejection(known_headers(), secrets=[OTHER_SECRET]) == "no_matching_signature"
    assert rejection(known_headers(), secrets=[]) == "no_matching_signature"


def reserialisations(payload: dict[str, object]) -> list[bytes]:
    keys = list(payload)
    reordered = {k: payload[k] for k in reversed(keys)}
    return [json.dumps(payload, separators=(",", ":")).encode(),
            json.dumps(payload, indent=2).encode(),
            json.dumps(reordered).encode(),
            json.dumps(payload, sort_keys=True, separators=(", ", " : ")).encode(),
            json.dumps(payload).encode() + b"\n"]


def test_re_serialised_payloads_are_never_accepted() -> None:
    rng = random.Random(2432232314)
    tried = 0
    for n in range(1000):
        payload = {f"k{rng.randrange(10**6)}": rng.choice([rng.randrange(10**9), "x" * rng.randrange(9),
                                                            [1, 2], {"a": None}, True])
                   for _ in range(rng.randrange(2, 6))}
        original = json.dumps(payload).encode()
        headers = signed_headers(SECRET, f"msg_{n}", TIMESTAMP, original)
        assert verify(headers, original, [SECRET], now=TIMESTAMP).delivery_id == f"msg_{n}"
        for body in reserialisations(payload):
            if body == original:
                continue
            tried += 1
            assert rejection(headers, body=body) == "no_matching_signature"
    assert tried >= 4000


def test_error_codes_and_messages_are_typed_and_never_leak_the_secret() -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        verify(known_headers(), BODY + b" ", [SECRET], now=TIMESTAMP)
    assert caught.value.code == "no_matching_signature"
    assert SECRET.removeprefix("whsec_") not in str(caught.value)


def test_a_malformed_secret_is_a_configuration_error_without_its_value() -> None:
    with pytest.raises(InvalidWebhookSecretError) as caught:
        verify(known_headers(), BODY, ["whsec_not base64!"], now=TIMESTAMP)
    assert "not base64!" not in str(caught.value)


def test_signatures_are_compared_in_constant_time_never_with_equality() -> None:
    tree = ast.parse(inspect.getsource(verify_module))
    compared = [node for node in ast.walk(tree) if isinstance(node, ast.Compare)
                and any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops)]
    assert compared == [], [ast.unparse(node) for node in compared]
    assert "compare_digest" in inspect.getsource(verify_module.matches_any)
