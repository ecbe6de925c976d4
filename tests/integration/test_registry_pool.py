"""Shared registry clients against the real registry (Debian docker-registry, distribution 2.8.2).

A small TCP relay in front of the registry counts the connections it accepts and records the request lines
it forwards, so the tests see what went over the wire: kept-alive connections (also after 404 answers),
the referrers API asked once per registry (2.8.2 answers 404 text/plain: no API), no image-manifest fetch
for a pinned digest when the caller says so, no ``.att`` lookup when attestations are not wanted, and a
registry that stops or disappears still fails the lookup (fail closed) instead of hanging.
"""

from __future__ import annotations

import re
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import LocalRegistry, _start_registry, registry  # noqa: F401
from tests.integration.test_webhook_registry import _key, _sign
from verifier.errors import NetworkError
from verifier.sources.image import collect_image_evidence
from verifier.sources.oci_registry import RegistryPool

_REQUEST_LINE = re.compile(rb"(GET|HEAD|POST|PUT|DELETE) (\S+) HTTP/1\.1\r\n")


class Relay:
    """Forward 127.0.0.1:<port> to the registry, counting connections and recording request lines."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.server = socket.create_server(("127.0.0.1", 0))
        self.host = f"127.0.0.1:{self.server.getsockname()[1]}"
        self.accepted = 0
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self.accepted += 1
                self._sockets += [conn, upstream]
            threading.Thread(target=self._pipe, args=(conn, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, conn, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, record: bool) -> None:
        buf = b""
        try:
            while data := src.recv(65536):
                if record:
                    buf += data
                    for m in _REQUEST_LINE.finditer(buf):
                        with self._lock:
                            self.requests.append(f"{m.group(1).decode()} {m.group(2).decode()}")
                    buf = (
                        buf[buf.rfind(b"\r\n") + 2 :] if _REQUEST_LINE.search(buf) else buf[-4096:]
                    )
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def paths(self, fragment: str) -> list[str]:
        with self._lock:
            return [r for r in self.requests if fragment in r]

    def close(self) -> None:
        self.server.close()
        with self._lock:
            for s in self._sockets:
                s.close()


@pytest.fixture
def relay(registry: LocalRegistry) -> Iterator[Relay]:
    r = Relay(registry.host)
    yield r
    r.close()


def _signed_images(reg: LocalRegistry, directory: Path, n: int) -> tuple[str, list[str]]:
    key = _key(directory, "good")
    repo = reg.new_repo("pool")
    digests = []
    for i in range(n):
        digest, _ = reg.push_image(repo, f"v{i}")
        _sign(reg, repo, digest, key)
        digests.append(digest)
    return repo, digests


def test_pooled_lookups_reuse_one_connection_and_ask_for_referrers_once(
    registry: LocalRegistry,
    relay: Relay,
    tmp_path: Path,
) -> None:
    repo, digests = _signed_images(registry, tmp_path, 4)
    pool = RegistryPool(timeout=5.0)
    try:
        found = [
            collect_image_evidence(f"{relay.host}/{repo}@{d}", pool=pool, parallel=False)
            for d in digests
        ]
    finally:
        pool.close()
    assert [len(ev.signatures) for ev in found] == [1, 1, 1, 1]
    assert [ev.digest for ev in found] == digests
    # One connection for 4 images x (manifest, .sig, blob, .att 404, referrers tag 404): the 404 bodies are
    # read so the connection goes back to the pool.
    assert relay.accepted == 1, relay.requests
    assert len(relay.paths("/referrers/")) == 1
    # The tag-schema fallback is still read for every image (where sigstore-js puts its bundles).
    assert len(relay.paths("/manifests/sha256-")) == 4 * 3  # .sig, .att and the referrers tag


def test_pinned_digest_without_manifest_fetch_and_without_att(
    registry: LocalRegistry,
    relay: Relay,
    tmp_path: Path,
) -> None:
    repo, (digest,) = _signed_images(registry, tmp_path, 1)
    pool = RegistryPool(timeout=5.0)
    try:
        lean = collect_image_evidence(
            f"{relay.host}/{repo}@{digest}",
            pool=pool,
            fetch_pinned=False,
            attestations=False,
            parallel=False,
        )
        lean_requests = list(relay.requests)
        full = collect_image_evidence(f"{relay.host}/{repo}@{digest}", pool=pool)
        # A tag is always resolved by fetching (and hashing) its manifest, whatever fetch_pinned says.
        by_tag = collect_image_evidence(f"{relay.host}/{repo}:v0", pool=pool, fetch_pinned=False)
    finally:
        pool.close()
    assert f"GET /v2/{repo}/manifests/{digest}" not in lean_requests
    assert not any(r.endswith(".att") for r in lean_requests)
    assert lean.digest == full.digest == by_tag.digest == digest
    assert lean.media_type == "" and full.media_type
    assert lean.signatures == full.signatures
    assert lean.attestations == () and lean.referrers == full.referrers
    assert f"GET /v2/{repo}/manifests/v0" in relay.requests


def test_pinned_digest_missing_from_the_registry_has_no_signature(
    registry: LocalRegistry,
    tmp_path: Path,
) -> None:
    """Without the manifest fetch an absent image is not an error, but it has nothing that signs it."""
    repo, _ = _signed_images(registry, tmp_path, 1)
    absent = "sha256:" + "0" * 64
    pool = RegistryPool(timeout=5.0)
    try:
        ev = collect_image_evidence(
            registry.ref(repo, absent), pool=pool, fetch_pinned=False, parallel=False
        )
    finally:
        pool.close()
    assert ev.signatures == () and ev.referrers == ()


def test_pooled_client_fails_closed_when_the_registry_freezes_or_dies(tmp_path: Path) -> None:
    reg = _start_registry(tmp_path / "reg", htpasswd=None)
    pool = RegistryPool(timeout=1.0)
    try:
        repo, digests = _signed_images(reg, tmp_path, 3)
        ok = collect_image_evidence(reg.ref(repo, digests[0]), pool=pool, parallel=False)
        assert len(ok.signatures) == 1  # a kept-alive connection now sits in the pool
        reg.process.send_signal(signal.SIGSTOP)  # accepts connections, never answers
        try:
            with pytest.raises(NetworkError, match="no answer within 1s"):
                collect_image_evidence(reg.ref(repo, digests[1]), pool=pool, parallel=False)
        finally:
            reg.process.send_signal(signal.SIGCONT)
        reg.process.kill()
        reg.process.wait(timeout=10)
        with pytest.raises(NetworkError, match="unreachable"):
            collect_image_evidence(reg.ref(repo, digests[2]), pool=pool, parallel=False)
    finally:
        pool.close()
        reg.close()
