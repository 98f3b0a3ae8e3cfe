"""The Neptune adapter's connections on the wire: a loopback WebSocket server records each handshake."""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterator

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from websockets.sync.server import Server, ServerConnection, serve

from world_model.neptune import NeptuneConfigError, NeptuneConnections, NeptuneEndpoint, open_neptune_graph

from .test_world_model_graph_contract import base_snapshot

CREDENTIALS = ReadOnlyCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token")


class FakeGremlinServer:
    """Records each WebSocket handshake and each request; answers every request 204 (no content) in
    GraphBinary, the way a Gremlin server answers a traversal with no results."""

    def __init__(self) -> None:
        self.handshakes: list[tuple[str, dict[str, str]]] = []
        self.requests: list[tuple[int, str, bytes]] = []  # (connection number, op, raw message)

    def process_request(self, connection: ServerConnection, request: object) -> None:
        self.handshakes.append((request.path, dict(request.headers.raw_items())))  # type: ignore[attr-defined]

    def handler(self, connection: ServerConnection) -> None:
        number = len(self.handshakes)
        for message in connection:
            raw = bytes(message) if not isinstance(message, str) else message.encode()
            start = 1 + raw[0] + 1  # mime length, mime type, version byte
            request_id = raw[start:start + 16]
            (op_length,) = struct.unpack(">i", raw[start + 16:start + 20])
            self.requests.append((number, raw[start + 20:start + 20 + op_length].decode(), raw))
            connection.send(bytes([0x81, 0x00]) + request_id + struct.pack(">i", 204) + b"\x01"
                            + struct.pack(">ii", 0, 0) + bytes([0xFE, 0x01]))


@pytest.fixture
def server() -> Iterator[tuple[FakeGremlinServer, int]]:
    recorder = FakeGremlinServer()
    ws: Server = serve(recorder.handler, "127.0.0.1", 0, process_request=recorder.process_request)
    thread = threading.Thread(target=ws.serve_forever, daemon=True)
    thread.start()
    yield recorder, ws.socket.getsockname()[1]
    ws.shutdown()
    thread.join(timeout=5)


def verify_signature(headers: dict[str, str], host: str, region: str) -> None:
    """Recompute the signature a Neptune endpoint would check, from the headers received."""
    request = AWSRequest(method="GET", url=f"https://{host}/gremlin",
                         headers={"Host": host, "X-Amz-Date": headers["X-Amz-Date"],
                                  "X-Amz-Security-Token": headers["X-Amz-Security-Token"]})
    request.context["timestamp"] = headers["X-Amz-Date"]
    auth = SigV4Auth(CREDENTIALS, "neptune-db", region)
    signature = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    assert headers["Authorization"].endswith(f"Signature={signature}")


def test_every_connection_opens_with_a_signed_handshake(server: tuple[FakeGremlinServer, int]) -> None:
    recorder, port = server
    endpoint = NeptuneEndpoint(host="127.0.0.1", region="eu-west-1", port=port, tls=False)
    signed = []

    def credentials() -> ReadOnlyCredentials:
        signed.append(1)
        return CREDENTIALS

    graph = open_neptune_graph(endpoint, credentials)
    assert graph.counts("acme")["Account"] == 0  # a read: the first request opens a connection
    graph.close()

    assert signed and recorder.handshakes
    path, headers = recorder.handshakes[0]
    assert path == "/gremlin"
    assert headers["Host"] == f"127.0.0.1:{port}"
    assert headers["X-Amz-Security-Token"] == "session-token"
    assert "Credential=AKIDEXAMPLE/" in headers["Authorization"]
    assert "/eu-west-1/neptune-db/aws4_request" in headers["Authorization"]
    verify_signature(headers, f"127.0.0.1:{port}", "eu-west-1")


def test_a_sync_runs_in_its_own_signed_session_and_commits(server: tuple[FakeGremlinServer, int]) -> None:
    recorder, port = server
    endpoint = NeptuneEndpoint(host="127.0.0.1", region="us-east-1", port=port, tls=False)
    calls: list[int] = []

    def credentials() -> ReadOnlyCredentials:
        calls.append(1)
        return CREDENTIALS

    graph = open_neptune_graph(endpoint, credentials, batch_size=10)
    stats = graph.sync_snapshot("acme", base_snapshot())  # the fake graph reads back empty: all is new
    graph.close()

    assert stats.vertices_upserted == 17 and stats.edges_upserted == 23
    assert len(calls) == 2  # reads, then the write session: each signed when opened
    session = len(recorder.handshakes)
    ops = [op for number, op, _ in recorder.requests if number == session]
    assert ops.count("bytecode") == 2 + 4 + 1  # read vertices and edges, 40 writes by 10, the commit
    assert b"commit" in [raw for number, _, raw in recorder.requests if number == session][-2]
    assert ops[-1] == "close"  # the session is closed after its commit
    verify_signature(recorder.handshakes[-1][1], f"127.0.0.1:{port}", "us-east-1")


def test_a_second_transaction_while_one_is_open_is_refused(server: tuple[FakeGremlinServer, int]) -> None:
    _, port = server
    connections = NeptuneConnections(
        NeptuneEndpoint(host="127.0.0.1", region="us-east-1", port=port, tls=False), lambda: CREDENTIALS)
    connections.begin()
    with pytest.raises(RuntimeError, match="already open"):
        connections.begin()
    connections.close()


def test_iam_auth_without_credentials_is_refused_before_connecting() -> None:
    with pytest.raises(NeptuneConfigError, match="no credentials provider"):
        NeptuneConnections(NeptuneEndpoint(host="127.0.0.1", region="us-east-1", tls=False), None)
