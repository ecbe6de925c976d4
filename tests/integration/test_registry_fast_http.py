"""The registry client's kept-alive read path (answers parsed by llhttp) against a scripted HTTP/1.1 server.

The real registry (tests/integration/test_registry_pool.py) cannot misbehave on demand; this server can:
it truncates a body, closes an idle kept-alive connection, redirects to another origin, gzips, chunks, or
never answers. Each case asserts what the client must do: refuse short content, retry a stale connection
once, follow redirects through httpx without sending credentials to another origin, decode as before, and
fail with a NetworkError (deny) instead of hanging.
"""

from __future__ import annotations

import gzip
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from verifier.errors import NetworkError
from verifier.sources.docker_config import Credentials
from verifier.sources.oci_common import OCI_MANIFEST, Descriptor, compute_digest
from verifier.sources.oci_registry import RegistryClient

REPO = "org/app"
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": compute_digest(b"{}"),
            "size": 2,
        },
        "layers": [],
    },
    separators=(",", ":"),
).encode()
MANIFEST_DIGEST = compute_digest(MANIFEST)
BLOB = b"signature payload " * 100
BLOB_DESC = Descriptor(
    media_type="application/octet-stream", digest=compute_digest(BLOB), size=len(BLOB)
)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    connection: int


Handler = Callable[[Request], bytes | None]  # raw response bytes; None = close without answering


@dataclass
class ScriptedServer:
    """One thread per connection; ``handler`` builds the raw answer for each request."""

    handler: Handler
    keep_open_after: int = 10**6  # close the connection after this many answers on it
    tls: ssl.SSLContext | None = None  # serve TLS with this server-side context
    requests: list[Request] = field(default_factory=list)
    accepted: int = 0

    def __post_init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.host = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn, self.accepted), daemon=True).start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except (OSError, ssl.SSLError):
                conn.close()  # the client refused our certificate
                return
        reader = conn.makefile("rb")
        answered = 0
        try:
            while True:
                line = reader.readline()
                if not line:
                    return
                method, path, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (h := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = h.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                req = Request(method, path, headers, number)
                self.requests.append(req)
                answer = self.handler(req)
                if answer is None:
                    return
                conn.sendall(answer)
                answered += 1
                if answered >= self.keep_open_after:
                    return
        except OSError:
            return
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()
        for c in self._conns:
            c.close()


def response(
    status: int, body: bytes = b"", headers: dict[str, str] | None = None, length: int | None = None
) -> bytes:
    h = {
        "Content-Type": "application/json",
        "Content-Length": str(len(body) if length is None else length),
    }
    h.update(headers or {})
    head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
    return head.encode() + body


def registry_handler(req: Request) -> bytes:
    if (
        req.path == f"/v2/{REPO}/manifests/{MANIFEST_DIGEST}"
        or req.path == f"/v2/{REPO}/manifests/v1"
    ):
        return response(200, MANIFEST, {"Content-Type": OCI_MANIFEST})
    if req.path == f"/v2/{REPO}/blobs/{BLOB_DESC.digest}":
        return response(200, BLOB, {"Content-Type": "application/octet-stream"})
    return response(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')


@pytest.fixture
def servers() -> Iterator[list[ScriptedServer]]:
    started: list[ScriptedServer] = []
    yield started
    for s in started:
        s.close()


def _server(servers: list[ScriptedServer], handler: Handler, **kw: Any) -> ScriptedServer:
    s = ScriptedServer(handler, **kw)
    servers.append(s)
    return s


def test_kept_alive_connection_serves_many_requests(servers: list[ScriptedServer]) -> None:
    srv = _server(servers, registry_handler)
    with RegistryClient(srv.host, timeout=5) as client:
        for _ in range(3):
            assert client.get_manifest(REPO, MANIFEST_DIGEST).digest == MANIFEST_DIGEST
            assert client.get_blob(REPO, BLOB_DESC, "blob") == BLOB
            assert client.get_manifest(REPO, "v1").digest == MANIFEST_DIGEST
    assert srv.accepted == 1
    assert len(srv.requests) == 9
    assert all(r.headers["user-agent"].startswith("verifier") for r in srv.requests)


def test_connection_closed_by_the_server_while_idle_is_replaced_once(
    servers: list[ScriptedServer],
) -> None:
    srv = _server(servers, registry_handler, keep_open_after=1)
    with RegistryClient(srv.host, timeout=5) as client:
        for _ in range(3):
            assert client.get_manifest(REPO, MANIFEST_DIGEST).digest == MANIFEST_DIGEST
    assert srv.accepted == 3
    assert len(srv.requests) == 3


@pytest.mark.parametrize("what", ["blob", "tag", "digest"])
def test_truncated_body_is_refused(servers: list[ScriptedServer], what: str) -> None:
    def truncating(req: Request) -> bytes | None:
        body = BLOB if "/blobs/" in req.path else MANIFEST
        return response(200, body[: len(body) // 2], length=len(body))

    srv = _server(servers, truncating, keep_open_after=1)
    with (
        RegistryClient(srv.host, timeout=5) as client,
        pytest.raises(NetworkError, match="missing"),
    ):
        if what == "blob":
            client.get_blob(REPO, BLOB_DESC, "blob")
        else:
            client.get_manifest(REPO, MANIFEST_DIGEST if what == "digest" else "v1")


def test_server_that_never_answers_fails_within_the_timeout(servers: list[ScriptedServer]) -> None:
    hang = threading.Event()

    def hangs(_req: Request) -> bytes | None:
        hang.wait(10)
        return None

    srv = _server(servers, hangs)
    try:
        with (
            RegistryClient(srv.host, timeout=0.5) as client,
            pytest.raises(NetworkError, match="no answer"),
        ):
            client.get_manifest(REPO, MANIFEST_DIGEST)
    finally:
        hang.set()


def test_closed_port_is_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{s.getsockname()[1]}"
    with (
        RegistryClient(host, timeout=2) as client,
        pytest.raises(NetworkError, match="unreachable"),
    ):
        client.get_manifest(REPO, MANIFEST_DIGEST)


def test_redirect_is_followed_without_credentials_to_another_origin(
    servers: list[ScriptedServer],
) -> None:
    storage = _server(
        servers, lambda req: response(200, BLOB, {"Content-Type": "application/octet-stream"})
    )

    def redirecting(req: Request) -> bytes:
        if "authorization" not in req.headers:
            return response(401, b"{}", {"Www-Authenticate": 'Basic realm="r"'})
        if "/blobs/" in req.path:
            return response(307, b"", {"Location": f"http://{storage.host}/storage/blob?sig=1"})
        return registry_handler(req)

    srv = _server(servers, redirecting)
    creds = Credentials(username="user", password="secret")
    with RegistryClient(srv.host, credentials=creds, timeout=5) as client:
        assert client.get_blob(REPO, BLOB_DESC, "blob") == BLOB
        assert client.get_manifest(REPO, MANIFEST_DIGEST).digest == MANIFEST_DIGEST
    assert [r.path for r in storage.requests] == ["/storage/blob?sig=1"]
    assert "authorization" not in storage.requests[0].headers
    assert srv.requests[1].headers["authorization"].startswith("Basic ")


def _chunked(body: bytes, sizes: tuple[int, ...] = (700,), extension: str = "") -> bytes:
    chunks, rest = [], body
    for n in sizes:
        chunks.append(rest[:n])
        rest = rest[n:]
    chunks.append(rest)
    out = b"".join(f"{len(c):x}{extension}\r\n".encode() + c + b"\r\n" for c in chunks if c)
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + out + b"0\r\n\r\n"


def test_chunked_bodies_are_read_on_a_kept_alive_connection(servers: list[ScriptedServer]) -> None:
    def chunked(req: Request) -> bytes:
        body = BLOB if "/blobs/" in req.path else MANIFEST
        return _chunked(body, (1, 700), extension=";name=x")

    srv = _server(servers, chunked)
    with RegistryClient(srv.host, timeout=5) as client:
        for _ in range(2):
            assert client.get_blob(REPO, BLOB_DESC, "blob") == BLOB
            assert client.get_manifest(REPO, MANIFEST_DIGEST).raw == MANIFEST
    assert srv.accepted == 1


def test_gzip_body_is_handed_to_httpx_and_decoded_then_verified(
    servers: list[ScriptedServer],
) -> None:
    """We ask for identity; a server that gzips anyway is answered through httpx, which decodes as before."""

    def zipping(req: Request) -> bytes:
        zipped = gzip.compress(MANIFEST)
        return response(200, zipped, {"Content-Type": OCI_MANIFEST, "Content-Encoding": "gzip"})

    srv = _server(servers, zipping)
    with RegistryClient(srv.host, timeout=5) as client:
        assert client.get_manifest(REPO, MANIFEST_DIGEST).raw == MANIFEST
    assert srv.requests[0].headers["accept-encoding"] == "identity"


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcdefg",  # conflicting lengths
        # Both framings at once (a request-smuggling shape): which one ends the body is ambiguous.
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\n{}",  # space before the colon (smuggling)
        b"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\nContent-Length: 2\r\n\r\n{}",  # obsolete line folding
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",  # bad chunk size
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n",  # no CRLF after chunk
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 101 + b"\r\n",
        b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000 + b"\r\n\r\n",
    ],
)
def test_malformed_answers_fail_closed(servers: list[ScriptedServer], answer: bytes) -> None:
    srv = _server(servers, lambda req: answer, keep_open_after=1)
    with RegistryClient(srv.host, timeout=5) as client, pytest.raises(NetworkError):
        client.get_manifest(REPO, "v1")


def test_chunked_body_cut_short_fails_closed(servers: list[ScriptedServer]) -> None:
    srv = _server(servers, lambda req: _chunked(BLOB)[:-40], keep_open_after=1)
    with RegistryClient(srv.host, timeout=5) as client, pytest.raises(NetworkError):
        client.get_blob(REPO, BLOB_DESC, "blob")


def test_connection_close_answer_is_not_reused(servers: list[ScriptedServer]) -> None:
    def closing(req: Request) -> bytes:
        return response(200, MANIFEST, {"Content-Type": OCI_MANIFEST, "Connection": "close"})

    srv = _server(servers, closing, keep_open_after=1)
    with RegistryClient(srv.host, timeout=5) as client:
        for _ in range(3):
            assert client.get_manifest(REPO, MANIFEST_DIGEST).digest == MANIFEST_DIGEST
    assert srv.accepted == 3


def test_body_until_close_without_length(servers: list[ScriptedServer]) -> None:
    def no_length(req: Request) -> bytes:
        return b"HTTP/1.1 200 OK\r\nContent-Type: " + OCI_MANIFEST.encode() + b"\r\n\r\n" + MANIFEST

    srv = _server(servers, no_length, keep_open_after=1)
    with RegistryClient(srv.host, timeout=5) as client:
        assert client.get_manifest(REPO, MANIFEST_DIGEST).digest == MANIFEST_DIGEST
        assert client.get_manifest(REPO, MANIFEST_DIGEST).digest == MANIFEST_DIGEST
    assert srv.accepted == 2


@pytest.mark.parametrize(("size", "connections"), [(5000, 1), (200_000, 2)])
def test_oversized_answer_is_refused_and_never_read_as_the_next_answer(
    servers: list[ScriptedServer], size: int, connections: int
) -> None:
    """A small unread body is drained so the connection can serve the next request; a large one makes
    the client drop the connection. Either way the next answer is read correctly."""
    from verifier.sources.oci_common import ContentTooLargeError, Limits

    def handler(req: Request) -> bytes:
        if req.path.endswith("/v1"):
            return response(200, b"x" * size)
        return registry_handler(req)

    srv = _server(servers, handler)
    with RegistryClient(srv.host, timeout=5, limits=Limits(manifest_bytes=1000)) as client:
        with pytest.raises(ContentTooLargeError):
            client.get_manifest(REPO, "v1")
        assert client.get_manifest(REPO, MANIFEST_DIGEST).raw == MANIFEST
    assert srv.accepted == connections


# ------------------------------------------------------------------------------------------------- TLS


@pytest.fixture
def tls_registry(
    servers: list[ScriptedServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[ScriptedServer, Path]:
    """A TLS registry for ``registry.test`` (certificate from a throwaway CA) that the client reaches on
    127.0.0.1: a non-loopback name, so the client uses https, and no DNS is needed."""
    from tests.integration.webhook_support import issue_server_cert, make_ca, write_pem

    ca_key, ca_cert = make_ca()
    key, cert = issue_server_cert(ca_key, ca_cert, ["registry.test"])
    for name, obj in (("ca.pem", ca_cert), ("tls.crt", cert), ("tls.key", key)):
        write_pem(tmp_path / name, obj)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(tmp_path / "tls.crt", tmp_path / "tls.key")
    srv = _server(servers, registry_handler, tls=server_ctx)
    real = socket.getaddrinfo
    port = int(srv.host.rsplit(":", 1)[1])

    def resolve(host: Any, _port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("registry.test", "other.test"):
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, _port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return srv, tmp_path / "ca.pem"


def test_tls_certificate_from_an_untrusted_ca_is_refused(
    tls_registry: tuple[ScriptedServer, Path],
) -> None:
    with RegistryClient("registry.test", timeout=5) as client:
        assert client.base_url == "https://registry.test"
        with pytest.raises(NetworkError, match="CERTIFICATE_VERIFY_FAILED"):
            client.get_manifest(REPO, MANIFEST_DIGEST)


def test_tls_with_a_trusted_ca_checks_the_host_name(
    tls_registry: tuple[ScriptedServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import verifier.sources.oci_registry as oci_registry

    srv, ca_file = tls_registry
    trusted = ssl.create_default_context(cafile=str(ca_file))
    monkeypatch.setattr(oci_registry, "_ssl_context", lambda: trusted)
    with RegistryClient("registry.test", timeout=5) as client:
        assert client.get_manifest(REPO, MANIFEST_DIGEST).digest == MANIFEST_DIGEST
        assert client.get_blob(REPO, BLOB_DESC, "blob") == BLOB
    assert srv.accepted == 1
    assert srv.requests[0].headers["host"] == "registry.test"
    # The same server presented for another name: the certificate does not match it.
    with (
        RegistryClient("other.test", timeout=5) as client,
        pytest.raises(NetworkError, match="(?i)hostname"),
    ):
        client.get_manifest(REPO, MANIFEST_DIGEST)


def test_retry_after_a_stale_connection_opens_a_new_one(servers: list[ScriptedServer]) -> None:
    """Two kept-alive connections whose server drops every second request unanswered (an idle timeout racing
    our request): the retry must not take the other idle connection, which would fail the same way."""
    import time

    seen: dict[int, int] = {}

    def drops_reuse(req: Request) -> bytes | None:
        seen[req.connection] = seen.get(req.connection, 0) + 1
        if seen[req.connection] > 1:
            return None  # close without answering
        time.sleep(0.2)  # keep both first requests in flight at once: two connections
        return registry_handler(req)

    srv = _server(servers, drops_reuse)
    with RegistryClient(srv.host, timeout=5) as client:
        threads = [
            threading.Thread(target=client.get_manifest, args=(REPO, MANIFEST_DIGEST))
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert srv.accepted == 2 and len(client._idle) == 2
        assert client.get_manifest(REPO, MANIFEST_DIGEST).digest == MANIFEST_DIGEST
    assert srv.accepted == 3


def test_interim_answer_is_skipped(servers: list[ScriptedServer]) -> None:
    def continuing(req: Request) -> bytes:
        return b"HTTP/1.1 100 Continue\r\n\r\n" + response(
            200, MANIFEST, {"Content-Type": OCI_MANIFEST}
        )

    srv = _server(servers, continuing)
    with RegistryClient(srv.host, timeout=5) as client:
        assert client.get_manifest(REPO, MANIFEST_DIGEST).raw == MANIFEST
        assert client.get_manifest(REPO, MANIFEST_DIGEST).raw == MANIFEST
    assert srv.accepted == 1


def test_bytes_after_the_answer_are_never_read_as_the_next_answer(
    servers: list[ScriptedServer],
) -> None:
    """A server that sends a second, unasked answer after the first: the connection is dropped, and the
    next request gets its own answer on a new connection (a desynchronised stream must not be reused)."""

    def doubled(req: Request) -> bytes:
        good = response(200, MANIFEST, {"Content-Type": OCI_MANIFEST})
        forged = response(200, b'{"forged":true}', {"Content-Type": OCI_MANIFEST})
        return good + forged

    srv = _server(servers, doubled)
    with RegistryClient(srv.host, timeout=5) as client:
        for _ in range(2):
            assert client.get_manifest(REPO, MANIFEST_DIGEST).raw == MANIFEST
    assert srv.accepted == 2
