"""The webhook server sheds load instead of growing: real uvicorn over real TLS on 127.0.0.1, raw sockets as
the misbehaving clients (idle after the handshake, a dripping header, a half handshake, too many
connections), and a certificate/key pair that does not match, which must never replace the one in use.

Each limit is set low here so the test runs fast; the defaults and what they cost are in docs/webhook.md
("Server limits"). The verifier behind the app is a stand-in: no request here reaches a lookup.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.webhook_support import (
    SERVICE,
    ApiserverClient,
    Pki,
    ServerThread,
    issue_server_cert,
    make_ca,
    make_pki,
    write_pem,
)
from verifier.adapters.webhook import CertReloader, Metrics, ServerLimits, create_app
from verifier.admission.decider import AdmissionDecider, WebhookConfig
from verifier.models import CheckResult

# Room for a loaded 2-core machine; the limits themselves are a second or less.
MARGIN = 3.0


def _verify(ref: str) -> CheckResult:
    return CheckResult(check="signature", subject=ref, verdict="fail", facts={})


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("limits-pki"))


def _serve(pki: Pki, limits: ServerLimits) -> tuple[ServerThread, Metrics]:
    metrics = Metrics()
    app = create_app(AdmissionDecider(WebhookConfig(), _verify), metrics_=metrics)
    return ServerThread(app, pki, limits=limits).start(), metrics


@pytest.fixture
def served(pki: Pki, request: pytest.FixtureRequest) -> Iterator[tuple[ServerThread, Metrics]]:
    srv, metrics = _serve(pki, request.param)
    try:
        yield srv, metrics
    finally:
        srv.stop()


def _tls(pki: Pki, port: int) -> ssl.SSLSocket:
    ctx = ssl.create_default_context(cafile=str(pki.ca_file))
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname=SERVICE)


def _closed_after(sock: socket.socket, limit: float) -> float:
    """Seconds until the server closes ``sock`` (read returns EOF or fails); fails past ``limit``."""
    start = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(4096):
            pass
    except (ConnectionError, ssl.SSLError):
        pass
    except TimeoutError:
        pytest.fail(f"the server kept the connection open for {limit}s")
    return time.monotonic() - start


def _shed(metrics: Metrics, reason: str) -> float:
    return (
        metrics.registry.get_sample_value(
            "verifier_webhook_connections_shed_total", {"reason": reason}
        )
        or 0.0
    )


@pytest.mark.parametrize("served", [ServerLimits(header_timeout=0.5)], indirect=True)
def test_a_connection_that_never_sends_a_request_is_closed(
    served: tuple[ServerThread, Metrics], pki: Pki
) -> None:
    srv, metrics = served
    with _tls(pki, srv.port) as sock:
        assert _closed_after(sock, 0.5 + MARGIN) >= 0.3
    assert _shed(metrics, "header-timeout") == 1


@pytest.mark.parametrize("served", [ServerLimits(header_timeout=1.0)], indirect=True)
def test_a_dripping_header_is_cut_off_at_the_header_deadline(
    served: tuple[ServerThread, Metrics], pki: Pki
) -> None:
    """Slow-loris: a byte every 0.1 s keeps any idle timeout from firing; the header deadline does not
    move."""
    srv, metrics = served
    with _tls(pki, srv.port) as sock:
        start = time.monotonic()
        sock.sendall(b"POST /validate HTTP/1.1\r\n")
        with pytest.raises((ConnectionError, ssl.SSLError, TimeoutError, OSError)):
            while time.monotonic() - start < 1.0 + MARGIN:
                sock.sendall(b"X")
                time.sleep(0.1)
                sock.settimeout(0.01)
                try:
                    if sock.recv(4096) == b"":
                        raise ConnectionResetError("closed by the server")
                except (TimeoutError, ssl.SSLWantReadError):
                    pass
        assert time.monotonic() - start < 1.0 + MARGIN
    assert _shed(metrics, "header-timeout") == 1


@pytest.mark.parametrize("served", [ServerLimits(handshake_timeout=0.5)], indirect=True)
def test_a_handshake_that_never_finishes_is_closed(
    served: tuple[ServerThread, Metrics],
) -> None:
    srv, _metrics = served
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
        sock.sendall(b"\x16\x03\x01")  # the start of a ClientHello, then nothing
        # TCP_DEFER_ACCEPT hands the connection over once data arrived; then the handshake deadline runs.
        assert _closed_after(sock, 0.5 + MARGIN) < 0.5 + MARGIN


HEALTHZ = f"GET /healthz HTTP/1.1\r\nHost: {SERVICE}\r\n\r\n".encode()


def _ask(sock: ssl.SSLSocket) -> bytes:
    """One GET /healthz on a kept-alive connection: the whole answer (header and the body "ok")."""
    sock.sendall(HEALTHZ)
    answer = b""
    while not answer.endswith(b"\r\n\r\nok"):
        data = sock.recv(4096)
        if not data:
            raise ConnectionResetError("closed by the server")
        answer += data
    return answer


@pytest.mark.parametrize(
    "served", [ServerLimits(max_connections=3, header_timeout=30)], indirect=True
)
def test_at_the_cap_a_new_connection_replaces_the_oldest_silent_one(
    served: tuple[ServerThread, Metrics], pki: Pki
) -> None:
    """An idle flood holds connections that never send a request; the apiserver's new connection sends one
    at once. At the cap the oldest silent connection makes room, so the flood cannot lock the apiserver out."""
    srv, metrics = served
    silent = [_tls(pki, srv.port) for _ in range(3)]
    try:
        time.sleep(0.2)  # the server has taken all three
        with _tls(pki, srv.port) as newcomer:
            assert b"200 OK" in _ask(newcomer)
        assert _closed_after(silent[0], MARGIN) < MARGIN  # the oldest made room
        assert _shed(metrics, "evicted-silent") == 1
        assert b"200 OK" in _ask(silent[1])  # the others were left alone
    finally:
        for sock in silent:
            sock.close()


@pytest.mark.parametrize(
    "served", [ServerLimits(max_connections=3, header_timeout=30)], indirect=True
)
def test_at_the_cap_with_every_connection_in_use_a_new_one_is_closed(
    served: tuple[ServerThread, Metrics], pki: Pki
) -> None:
    srv, metrics = served
    busy = [_tls(pki, srv.port) for _ in range(3)]
    try:
        for sock in busy:
            assert b"200 OK" in _ask(sock)  # each has sent a request: none is silent
        with _tls(pki, srv.port) as extra:
            assert _closed_after(extra, MARGIN) < MARGIN
        assert _shed(metrics, "too-many-connections") == 1
        assert all(b"200 OK" in _ask(sock) for sock in busy)  # the connections in use were kept
        busy.pop().close()
        time.sleep(0.2)
        with ApiserverClient(srv.port, pki.ca_file) as client:  # a slot is free again
            assert client.get("/healthz").status_code == 200
    finally:
        for sock in busy:
            sock.close()


@pytest.mark.parametrize("served", [ServerLimits(max_requests_per_connection=2)], indirect=True)
def test_a_connection_is_closed_after_its_last_allowed_request(
    served: tuple[ServerThread, Metrics], pki: Pki
) -> None:
    srv, _metrics = served
    with _tls(pki, srv.port) as sock:
        answers = [_ask(sock), _ask(sock)]
        assert b"200 OK" in answers[0] and b"connection: close" not in answers[0].lower()
        assert b"200 OK" in answers[1] and b"connection: close" in answers[1].lower()
        assert _closed_after(sock, MARGIN) < MARGIN


@pytest.mark.parametrize("served", [ServerLimits(max_header_bytes=4096)], indirect=True)
def test_an_oversized_header_closes_the_connection(
    served: tuple[ServerThread, Metrics], pki: Pki
) -> None:
    srv, metrics = served
    with _tls(pki, srv.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nX-Pad: " + b"a" * 8192)
        assert _closed_after(sock, MARGIN) < MARGIN
    assert _shed(metrics, "header-too-large") == 1


def test_a_mismatched_certificate_and_key_never_replace_the_pair_in_use(
    pki: Pki, tmp_path: Path
) -> None:
    """The rotation writes a new certificate but the key does not match it: the reload is refused (logged
    once), and new handshakes go on with the old pair. Then a matching pair is taken."""
    for name in ("tls.crt", "tls.key", "ca.pem"):
        (tmp_path / name).write_bytes((pki.cert_file.parent / name).read_bytes())
    own = Pki(
        tmp_path / "ca.pem", tmp_path / "tls.crt", tmp_path / "tls.key", pki.ca_key, pki.ca_cert
    )
    srv, _ = _serve(own, ServerLimits())
    try:
        _new_key, mismatched = issue_server_cert(pki.ca_key, pki.ca_cert, [SERVICE])
        write_pem(own.cert_file, mismatched)  # the old key stays: certificate and key do not match
        assert srv.reloader.check() is False
        assert srv.reloader.check() is False  # the same files are not tried (and logged) again
        with ApiserverClient(srv.port, pki.ca_file) as client:
            assert client.get("/healthz").status_code == 200
        rotated_key, rotated = issue_server_cert(pki.ca_key, pki.ca_cert, [SERVICE])
        write_pem(own.key_file, rotated_key)
        write_pem(own.cert_file, rotated)
        assert srv.reloader.check() is True
        with _tls(own, srv.port) as sock:
            served_cert = sock.getpeercert(binary_form=True)
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        assert served_cert == rotated.public_bytes(serialization.Encoding.DER)
        assert isinstance(rotated, x509.Certificate)
    finally:
        srv.stop()


def test_loading_a_mismatched_pair_straight_into_a_context_breaks_it(tmp_path: Path) -> None:
    """Why the reloader tries a scratch context first: ``load_cert_chain`` replaces the certificate before
    it finds that the key does not match, and the context is left with a pair that cannot handshake."""
    ca_key, ca = make_ca()
    key, cert = issue_server_cert(ca_key, ca, [SERVICE])
    _other_key, other_cert = issue_server_cert(ca_key, ca, [SERVICE])
    write_pem(tmp_path / "tls.key", key)
    write_pem(tmp_path / "tls.crt", cert)
    write_pem(tmp_path / "other.crt", other_cert)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / "tls.crt", tmp_path / "tls.key")
    with pytest.raises(ssl.SSLError):
        ctx.load_cert_chain(tmp_path / "other.crt", tmp_path / "tls.key")
    reloader_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    reloader_ctx.load_cert_chain(tmp_path / "tls.crt", tmp_path / "tls.key")
    reloader = CertReloader(reloader_ctx, str(tmp_path / "tls.crt"), str(tmp_path / "tls.key"))
    (tmp_path / "tls.crt").write_bytes((tmp_path / "other.crt").read_bytes())
    assert reloader.check() is False
    for context, works in ((ctx, False), (reloader_ctx, True)):
        assert _handshake_works(context, ca, tmp_path) is works
    assert _handshake_works(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), ca, tmp_path) is False


def _handshake_works(server_ctx: ssl.SSLContext, ca: object, tmp_path: Path) -> bool:
    """A TLS handshake over a socket pair with ``server_ctx`` on the server side."""
    import threading

    write_pem(tmp_path / "ca.pem", ca)  # type: ignore[arg-type]
    client_ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    a, b = socket.socketpair()
    result: list[bool] = []

    def server() -> None:
        try:
            with server_ctx.wrap_socket(a, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass

    t = threading.Thread(target=server)
    t.start()
    try:
        with client_ctx.wrap_socket(b, server_hostname=SERVICE):
            result.append(True)
    except (ssl.SSLError, OSError):
        result.append(False)
    finally:
        b.close()
        t.join(10)
    return result[0]
