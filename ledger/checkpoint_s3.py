"""S3 adapter of the ``CheckpointStore`` port: Object Lock in COMPLIANCE mode with a retention date.

In COMPLIANCE mode nobody, the root account included, can delete or overwrite a locked object version
before its retain-until date. Writes use ``If-None-Match: *`` so a second write to the same key is
refused instead of stacking a new version on top. ``client`` is a boto3 S3 client built at the edge."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ledger.checkpoints import CheckpointError, CheckpointExistsError, SignedCheckpoint, checkpoint_name

DEFAULT_RETENTION = timedelta(days=3650)


def create_locked_bucket(client: Any, bucket: str, region: str | None = None) -> None:
    """Create a bucket with Object Lock enabled (it can only be enabled at creation)."""
    args: dict[str, Any] = {"Bucket": bucket, "ObjectLockEnabledForBucket": True}
    if region and region != "us-east-1":
        args["CreateBucketConfiguration"] = {"LocationConstraint": region}
    client.create_bucket(**args)


class S3CheckpointStore:
    def __init__(self, client: Any, bucket: str, prefix: str = "checkpoints/",
                 retention: timedelta = DEFAULT_RETENTION,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._client = client
        self.bucket = bucket
        self.prefix = prefix
        self.retention = retention
        self._clock = clock

    def __repr__(self) -> str:
        return f"S3CheckpointStore(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _key(self, tenant: str, size: int) -> str:
        return self.prefix + checkpoint_name(tenant, size)

    def put(self, signed: SignedCheckpoint) -> str:
        key = self._key(signed.tenant, signed.size)
        try:
            self._client.put_object(
                Bucket=self.bucket, Key=key, Body=signed.note.encode(),
                ContentType="text/plain; charset=utf-8", ChecksumAlgorithm="SHA256", IfNoneMatch="*",
                ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=self._clock() + self.retention)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise CheckpointExistsError(f"s3://{self.bucket}/{key} already exists; checkpoints are "
                                            "never overwritten") from exc
            if code == "InvalidRequest":
                raise CheckpointError(f"bucket {self.bucket} refused a locked write ({exc}); create it "
                                      "with Object Lock enabled (create_locked_bucket)") from exc
            raise
        return f"s3://{self.bucket}/{key}"

    def get(self, tenant: str, size: int) -> str | None:
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self._key(tenant, size))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return answer["Body"].read().decode("utf-8")

    def sizes(self, tenant: str) -> list[int]:
        folder = self.prefix + checkpoint_name(tenant, 0).rsplit("/", 1)[0] + "/"
        sizes = []
        for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                          Prefix=folder):
            for item in page.get("Contents", []):
                stem = item["Key"][len(folder):].removesuffix(".note")
                if stem.isdigit():
                    sizes.append(int(stem))
        return sorted(sizes)
