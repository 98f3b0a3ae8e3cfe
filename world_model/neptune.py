"""The situation graph on Amazon Neptune: gremlinpython over wss://<endpoint>:8182/gremlin, IAM-signed.

Neptune with IAM database authentication checks a SigV4 signature (service ``neptune-db``) on the
WebSocket handshake, so each connection is opened with freshly signed headers: signatures are valid
for 5 minutes, and every write transaction opens its own session connection (signed anew)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import GraphTraversalSource
from gremlin_python.process.traversal import Cardinality

from world_model.graph import SituationGraph
from world_model.graph_writes import DEFAULT_BATCH_SIZE

NEPTUNE_SERVICE = "neptune-db"
CredentialsProvider = Callable[[], ReadOnlyCredentials]


class NeptuneConfigError(ValueError):
    """The Neptune endpoint or its credentials are not usable as configured."""


@dataclass(frozen=True)
class NeptuneEndpoint:
    """Where the cluster listens. ``host`` is the cluster (writer) endpoint without scheme or port."""

    host: str
    region: str
    port: int = 8182
    iam_auth: bool = True
    tls: bool = True  # wss; only a loopback test server speaks plain ws

    def __post_init__(self) -> None:
        if not self.host or "/" in self.host or ":" in self.host:
            raise NeptuneConfigError(
                f"Neptune host {self.host!r} must be a bare hostname such as "
                "'my-cluster.cluster-abc123.us-east-1.neptune.amazonaws.com' (no scheme, port or path)"
            )
        if self.iam_auth and not self.region:
            raise NeptuneConfigError("IAM authentication needs the cluster's AWS region (e.g. 'us-east-1')")

    @property
    def url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://{self.host}:{self.port}/gremlin"


def neptune_handshake_headers(endpoint: NeptuneEndpoint, credentials: ReadOnlyCredentials) -> dict[str, str]:
    """The headers of a SigV4-signed GET of ``https://<host>:<port>/gremlin`` (what Neptune verifies on
    the WebSocket upgrade): Host, X-Amz-Date, Authorization and, for temporary credentials,
    X-Amz-Security-Token."""
    request = AWSRequest(method="GET", url=f"https://{endpoint.host}:{endpoint.port}/gremlin")
    request.headers["Host"] = f"{endpoint.host}:{endpoint.port}"
    SigV4Auth(credentials, NEPTUNE_SERVICE, endpoint.region).add_auth(request)
    return dict(request.headers.items())


def boto3_credentials(session: boto3.Session | None = None) -> CredentialsProvider:
    """Credentials from boto3's chain (env, profile, container/instance role), refreshed on every call."""
    resolved = (session or boto3.Session()).get_credentials()
    if resolved is None:
        raise NeptuneConfigError(
            "no AWS credentials found for Neptune IAM auth: configure a profile, role or AWS_* variables, "
            "or disable iam_auth for a cluster without IAM database authentication"
        )
    return resolved.get_frozen_credentials


class NeptuneConnections:
    """Opens signed connections: one for reads, and one session per write transaction."""

    def __init__(self, endpoint: NeptuneEndpoint, credentials: CredentialsProvider | None,
                 pool_size: int | None = None) -> None:
        if endpoint.iam_auth and credentials is None:
            raise NeptuneConfigError("iam_auth is on but no credentials provider was given")
        self._endpoint = endpoint
        self._credentials = credentials
        self._pool_size = pool_size
        self._session: DriverRemoteConnection | None = None
        self.reads = self._connect(session=None)

    def _headers(self) -> dict[str, str]:
        if not self._endpoint.iam_auth or self._credentials is None:
            return {}
        return neptune_handshake_headers(self._endpoint, self._credentials())

    def _connect(self, session: str | None) -> DriverRemoteConnection:
        return DriverRemoteConnection(self._endpoint.url, "g", headers=self._headers(), session=session,
                                      pool_size=self._pool_size)

    def begin(self) -> GraphTraversalSource:
        if self._session is not None:
            raise RuntimeError("a Neptune write transaction is already open on this graph")
        self._session = self._connect(session=str(uuid.uuid4()))
        return traversal().with_remote(self._session)

    def commit(self) -> None:
        self._end(commit=True)

    def rollback(self) -> None:
        self._end(commit=False)

    def close(self) -> None:
        if self._session is not None:
            self._end(commit=False)
        self.reads.close()

    def _end(self, commit: bool) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        try:
            if commit:
                session.commit()
            else:
                session.rollback()
        finally:
            session.close()


def open_neptune_graph(endpoint: NeptuneEndpoint, credentials: CredentialsProvider | None = None,
                       batch_size: int = DEFAULT_BATCH_SIZE, pool_size: int | None = None) -> SituationGraph:
    """The situation graph on Neptune; the traversals are the ones gremlite runs.

    Neptune accepts ``single`` and ``set`` cardinality only, so new vertices get ``set`` properties."""
    connections = NeptuneConnections(endpoint, credentials, pool_size)
    return SituationGraph(
        traversal().with_remote(connections.reads), commit=connections.commit, rollback=connections.rollback,
        close=connections.close, begin=connections.begin, batch_size=batch_size,
        new_vertex_cardinality=Cardinality.set_,
    )
