"""One contract for every CheckpointStore adapter (local directory, S3 with Object Lock under moto, the
in-memory fake), the S3 lock itself, and the KMS signer at the boto3 edge."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from moto import mock_aws

from ledger.checkpoint_s3 import S3CheckpointStore, create_locked_bucket
from ledger.checkpoints import (
    CheckpointExistsError,
    CheckpointStore,
    LocalCheckpointStore,
    SignedCheckpoint,
    latest,
)
from ledger.merkle import MerkleTree
from ledger.note import open_note
from ledger.proofs import make_checkpoint
from ledger.signers import KMS_KEY_SPEC, KmsSigner, SignerError
from tests.unit.test_ledger_checkpoints import FakeSigner, InMemoryCheckpointStore

AT = datetime(2025, 3, 1, tzinfo=UTC)
BUCKET = "revloop-checkpoints"


def signed(size: int, tenant: str = "acme", salt: bytes = b"") -> SignedCheckpoint:
    tree = MerkleTree.from_data([salt + bytes([i]) for i in range(size)])
    return SignedCheckpoint.sign(make_checkpoint(tree, tenant, AT), FakeSigner())


@pytest.fixture
def aws() -> Iterator[None]:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")
    with mock_aws():
        yield


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3", region_name="us-east-1")
    create_locked_bucket(client, BUCKET)
    return client


@pytest.fixture(params=["local", "s3", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> CheckpointStore:
    if request.param == "local":
        return LocalCheckpointStore(tmp_path / "checkpoints")
    if request.param == "s3":
        return S3CheckpointStore(request.getfixturevalue("s3"), BUCKET)
    return InMemoryCheckpointStore()


def test_store_round_trips_notes_exactly(store: CheckpointStore) -> None:
    first = signed(5)
    where = store.put(first)
    assert "acme/00000000000000000005.note" in where
    assert store.get("acme", 5) == first.note
    assert store.get("acme", 6) is None and store.sizes("globex") == []


def test_store_never_overwrites(store: CheckpointStore) -> None:
    store.put(signed(5))
    with pytest.raises(CheckpointExistsError):
        store.put(signed(5, salt=b"forked"))
    held = store.get("acme", 5)
    assert held is not None and SignedCheckpoint.parse(held).checkpoint.root == signed(5).checkpoint.root


def test_store_lists_sizes_per_tenant_and_finds_the_latest(store: CheckpointStore) -> None:
    for size in (3, 12, 7):
        store.put(signed(size))
    store.put(signed(40, tenant="globex"))
    assert store.sizes("acme") == [3, 7, 12] and store.sizes("globex") == [40]
    newest = latest(store, "acme")
    assert newest is not None and newest.size == 12


def test_local_files_are_read_only(tmp_path: Path) -> None:
    store = LocalCheckpointStore(tmp_path)
    path = Path(store.put(signed(2)))
    assert path.stat().st_mode & 0o777 == 0o444
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind


def test_s3_objects_carry_a_compliance_lock_that_refuses_deletion(s3: Any) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    store = S3CheckpointStore(s3, BUCKET, retention=timedelta(days=30), clock=lambda: now)
    note = signed(4)
    store.put(note)
    key = "checkpoints/acme/00000000000000000004.note"
    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] == now + timedelta(days=30)
    version = head["VersionId"]
    with pytest.raises(ClientError) as info:
        s3.delete_object(Bucket=BUCKET, Key=key, VersionId=version)
    assert info.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):
        s3.delete_object(Bucket=BUCKET, Key=key, VersionId=version, BypassGovernanceRetention=True)
    assert s3.get_object(Bucket=BUCKET, Key=key, VersionId=version)["Body"].read().decode() == note.note


def test_s3_store_refuses_a_bucket_without_object_lock(aws: None) -> None:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket="plain")
    with pytest.raises(Exception, match="Object Lock"):
        S3CheckpointStore(client, "plain").put(signed(1))


# --- KMS signer (moto's KMS has no Ed25519 keys: botocore's Stubber stands in at the SDK edge) ---------

def kms_with_stubbed_key(key: Ed25519PrivateKey, message: bytes | None = None,
                         spec: str = KMS_KEY_SPEC, signature: bytes | None = None) -> tuple[Any, Stubber]:
    client = boto3.client("kms", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    der = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    if message is not None:
        stubber.add_response("sign", {"KeyId": "arn:key", "SigningAlgorithm": "ED25519_SHA_512",
                                      "Signature": signature or key.sign(message)},
                             {"KeyId": "alias/ledger", "Message": message, "MessageType": "RAW",
                              "SigningAlgorithm": "ED25519_SHA_512"})
    stubber.add_response("get_public_key", {"KeyId": "arn:key", "PublicKey": der, "KeySpec": spec,
                                            "KeyUsage": "SIGN_VERIFY"}, {"KeyId": "alias/ledger"})
    stubber.activate()
    return client, stubber


def test_kms_signer_signs_checkpoints_a_verifier_accepts() -> None:
    key = Ed25519PrivateKey.generate()
    checkpoint = make_checkpoint(MerkleTree.from_data([b"a", b"b", b"c"]), "acme", AT)
    client, stubber = kms_with_stubbed_key(key, checkpoint.body().encode())
    signer = KmsSigner(client, "alias/ledger")
    note = SignedCheckpoint.sign(checkpoint, signer).note
    assert open_note(note, key.public_key())[1] == "revloop-ledger"
    stubber.assert_no_pending_responses()
    assert "alias/ledger" in repr(signer)


def test_kms_signer_refuses_a_wrong_key_spec_and_a_bad_signature() -> None:
    key = Ed25519PrivateKey.generate()
    client, _ = kms_with_stubbed_key(key, spec="ECC_NIST_P256")
    with pytest.raises(SignerError, match="ECC_NIST_EDWARDS25519"):
        KmsSigner(client, "alias/ledger").public_key()
    client, _ = kms_with_stubbed_key(key, b"body\n", signature=bytes(64))
    with pytest.raises(SignerError, match="does not verify"):
        KmsSigner(client, "alias/ledger").sign(b"body\n")
