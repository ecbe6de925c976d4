"""Shared pieces of the webhook integration tests: a throwaway PKI, a server thread, an apiserver-like client.

Not a test module (no ``test_`` prefix): imported by ``tests/integration/test_webhook*.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette

from verifier.adapters.webhook import ServerLimits, make_server, serve

SERVICE = "verifier.verifier-system.svc"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Pki:
    """A CA and a server certificate for ``SERVICE`` (files on disk)."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    ca_key: ec.EllipticCurvePrivateKey
    ca_cert: x509.Certificate


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn: str = "verifier test CA") -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A throwaway self-signed CA (P-256, valid one day)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue_server_cert(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, names: list[str]
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A server certificate with DNS SANs ``names``, signed by the CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def write_pem(path: Path, obj: x509.Certificate | ec.EllipticCurvePrivateKey) -> None:
    """Write a certificate or an unencrypted PKCS#8 key as PEM."""
    if isinstance(obj, x509.Certificate):
        path.write_bytes(obj.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(
            obj.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


def make_pki(directory: Path) -> Pki:
    """CA + server certificate for the service names the apiserver would use."""
    ca_key, ca_cert = make_ca()
    key, cert = issue_server_cert(ca_key, ca_cert, [SERVICE, f"{SERVICE}.cluster.local"])
    pki = Pki(directory / "ca.pem", directory / "tls.crt", directory / "tls.key", ca_key, ca_cert)
    write_pem(pki.ca_file, ca_cert)
    write_pem(pki.cert_file, cert)
    write_pem(pki.key_file, key)
    return pki


class ServerThread:
    """The real uvicorn server with TLS on 127.0.0.1 (ephemeral port) in a background thread."""

    def __init__(
        self,
        app: Starlette,
        pki: Pki,
        reload_interval: float = 0.2,
        limits: ServerLimits | None = None,
    ) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.server, self.reloader = make_server(
            app,
            host="127.0.0.1",
            port=self.port,
            certfile=str(pki.cert_file),
            keyfile=str(pki.key_file),
            limits=limits,
        )
        self.error: BaseException | None = None
        self._interval = reload_interval
        self._thread = threading.Thread(target=self._run, name="webhook-server", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(
                serve(
                    self.server, self.reloader, sockets=[self.sock], reload_interval=self._interval
                )
            )
        except BaseException as exc:  # noqa: BLE001 - surfaced by start()/stop()
            self.error = exc

    def start(self) -> ServerThread:
        """Start and wait (bounded) until the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.server.started:
            if self.error is not None or not self._thread.is_alive():
                raise RuntimeError(f"webhook server failed to start: {self.error!r}")
            if time.monotonic() > deadline:
                raise TimeoutError("webhook server did not start within 10 s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Ask the server to exit and wait (bounded) for the thread."""
        self.server.should_exit = True
        self._thread.join(STOP_TIMEOUT)
        self.sock.close()
        assert not self._thread.is_alive(), "webhook server did not stop within 10 s"


class ApiserverRejectedError(AssertionError):
    """The webhook's answer is one the kube-apiserver would refuse (wrong uid, apiVersion or kind)."""


@dataclass(frozen=True)
class Answer:
    """What the apiserver got back: HTTP status and, for 200, the parsed ``response``."""

    status: int
    body: Any
    response: dict[str, Any] | None


class ApiserverClient:
    """Behaves like the kube-apiserver calling a webhook.

    HTTP/1.1 only, TLS verified against the CA bundle with the service's DNS name (SNI + hostname check)
    while connecting to 127.0.0.1, ``POST /validate?timeout=10s`` with ``Content-Type: application/json``,
    and the response checks of ``k8s.io/apiserver`` (``webhook/request``): same apiVersion and kind
    AdmissionReview, same uid, ``allowed`` present.
    """

    def __init__(
        self, port: int, ca_file: Path, *, server_name: str = SERVICE, timeout: float = 10.0
    ) -> None:
        self.port = port
        self.server_name = server_name
        self.timeout = timeout
        ctx = ssl.create_default_context(cafile=str(ca_file))
        self.client = httpx.Client(
            verify=ctx, http1=True, http2=False, timeout=httpx.Timeout(timeout + 5.0)
        )

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()

    def __enter__(self) -> ApiserverClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        """``https://127.0.0.1:PORT/path``."""
        return f"https://127.0.0.1:{self.port}{path}"

    def post(
        self, path: str, body: bytes, content_type: str = "application/json"
    ) -> httpx.Response:
        """One POST with the service name as TLS server name and Host header."""
        return self.client.post(
            self.url(path),
            content=body,
            headers={"Content-Type": content_type, "Host": self.server_name},
            extensions={"sni_hostname": self.server_name},
        )

    def get(self, path: str) -> httpx.Response:
        """One GET (health, readiness, metrics)."""
        return self.client.get(
            self.url(path),
            headers={"Host": self.server_name},
            extensions={"sni_hostname": self.server_name},
        )

    def review(self, body: bytes, *, timeout_param: str | None = None) -> Answer:
        """Send one AdmissionReview; check the answer like the apiserver does."""
        t = timeout_param or f"{int(self.timeout)}s"
        resp = self.post(f"/validate?timeout={t}", body)
        if resp.status_code != 200:
            return Answer(resp.status_code, resp.content, None)
        return Answer(200, resp.json(), check_answer(body, resp.json()))


def check_answer(request_body: bytes, answer: Any) -> dict[str, Any]:
    """Raise :class:`ApiserverRejectedError` unless ``answer`` is a valid reply to ``request_body``."""
    sent = json.loads(request_body)
    if not isinstance(answer, dict):
        raise ApiserverRejectedError("response is not a JSON object")
    if answer.get("kind") != "AdmissionReview":
        raise ApiserverRejectedError(f"kind {answer.get('kind')!r}")
    if answer.get("apiVersion") != sent.get("apiVersion"):
        raise ApiserverRejectedError(
            f"apiVersion {answer.get('apiVersion')!r} != request {sent.get('apiVersion')!r}"
        )
    response = answer.get("response")
    if not isinstance(response, dict):
        raise ApiserverRejectedError("no response")
    if response.get("uid") != sent.get("request", {}).get("uid"):
        raise ApiserverRejectedError(f"uid {response.get('uid')!r} does not match the request")
    if not isinstance(response.get("allowed"), bool):
        raise ApiserverRejectedError("response.allowed missing")
    return response
