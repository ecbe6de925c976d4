"""Deadlines against a hostile registry: the real docker-registry behind :class:`FaultProxy`.

A per-read timeout is reset by every byte, so a registry that drips its answer (one byte every half second
here, below every per-request timeout used) could hold a lookup forever. These tests show that the whole
registry work of a call, and of ``verifier check signature --timeout N``, ends by its deadline (plus a
margin for the process and the machine's load: the bound is what matters, not the speed), with exit 3 and
a message that says the deadline ran out; and that a registry that *answers* 429/503 is reported as such.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import LocalRegistry, registry  # noqa: F401 - fixture
from tests.integration.fault_proxy import FaultProxy
from tests.integration.test_webhook_registry import _key, _sign
from verifier.errors import NetworkError
from verifier.sources import oci_common
from verifier.sources.deadline import Deadline, DeadlineExceeded, within
from verifier.sources.image import collect_image_evidence
from verifier.sources.oci_common import RegistryAnswerError
from verifier.sources.oci_registry import RegistryClient, _DeadlineBackend

pytestmark = pytest.mark.registry

# Room for thread hand-offs and a loaded 2-core machine; far below what a drip achieves without deadlines
# (the answer of one manifest request is ~500 bytes: minutes at one byte every half second).
MARGIN = 2.5
PROCESS_MARGIN = 6.0
DRIP = 0.5


@pytest.fixture(scope="module")
def signed(
    registry: LocalRegistry, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, str, Path]:
    """(repository, digest, public key) of an image signed with a THROWAWAY key in the real registry."""
    d = tmp_path_factory.mktemp("deadline")
    key = _key(d, "good")
    repo = registry.new_repo("deadline")
    digest, _ = registry.push_image(repo, "v1")
    _sign(registry, repo, digest, key)
    return repo, digest, d / "good.pub"


@pytest.fixture
def proxy(registry: LocalRegistry) -> Iterator[FaultProxy]:
    host, port = registry.host.rsplit(":", 1)
    with FaultProxy((host, int(port)), drip_interval=DRIP) as p:
        yield p


def _timed(fn: Any) -> tuple[BaseException | None, float]:
    start = time.monotonic()
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - returned to the test
        return exc, time.monotonic() - start
    return None, time.monotonic() - start


def test_the_proxy_passes_answers_through_unchanged(
    proxy: FaultProxy, signed: tuple[str, str, Path]
) -> None:
    """The control: through the proxy in ``pass`` mode the signed image's signature is found."""
    repo, digest, _ = signed
    evidence = collect_image_evidence(f"{proxy.host}/{repo}@{digest}", timeout=10)
    assert evidence.digest == digest and len(evidence.signatures) == 1


@pytest.mark.parametrize("mode", ["drip", "drip-body", "stall"])
def test_a_hostile_registry_cannot_outlive_the_deadline(
    proxy: FaultProxy, signed: tuple[str, str, Path], mode: Any
) -> None:
    repo, digest, _ = signed
    proxy.mode = mode
    error, elapsed = _timed(
        lambda: collect_image_evidence(f"{proxy.host}/{repo}@{digest}", timeout=2.0)
    )
    assert isinstance(error, DeadlineExceeded), error
    assert "no answer within 2s (the --timeout deadline)" in str(error)
    assert elapsed < 2.0 + MARGIN, elapsed
    assert proxy.accepted >= 1  # the registry was really asked


def test_a_drip_is_cut_by_the_outer_deadline_even_with_a_long_request_timeout(
    proxy: FaultProxy, signed: tuple[str, str, Path]
) -> None:
    """A per-request timeout far above the drip interval, as a long-lived client has: the caller's deadline
    (the webhook's lookup deadline) still ends the request."""
    repo, digest, _ = signed
    proxy.mode = "drip"
    with RegistryClient(proxy.host, timeout=60.0) as client:

        def fetch() -> None:
            with within(Deadline.after(1.5, "lookup")):
                client.get_manifest(repo, digest)

        error, elapsed = _timed(fetch)
    assert isinstance(error, DeadlineExceeded) and "the lookup deadline" in str(error), error
    assert elapsed < 1.5 + MARGIN, elapsed


def test_a_reset_connection_fails_at_once_as_a_network_error(
    proxy: FaultProxy, signed: tuple[str, str, Path]
) -> None:
    repo, digest, _ = signed
    proxy.mode = "reset"
    error, elapsed = _timed(
        lambda: collect_image_evidence(f"{proxy.host}/{repo}@{digest}", timeout=5.0)
    )
    assert isinstance(error, NetworkError) and not isinstance(error, DeadlineExceeded), error
    assert "unreachable" in str(error) or "closed" in str(error), error


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (429, "answered HTTP 429: too many requests"),
        (503, "answered HTTP 503: the registry is unavailable or overloaded"),
        (500, "answered HTTP 500: an error inside the registry"),
    ],
)
def test_an_error_status_is_reported_as_what_the_registry_answered(
    proxy: FaultProxy, signed: tuple[str, str, Path], status: int, hint: str
) -> None:
    repo, digest, _ = signed
    proxy.mode = "status"
    proxy.status = status
    with pytest.raises(RegistryAnswerError) as info:
        collect_image_evidence(f"{proxy.host}/{repo}@{digest}", timeout=5.0)
    text = info.value.diagnostics()
    assert info.value.status == status and info.value.exit_code == 3
    assert hint in text
    assert "is the service reachable" not in text


def test_check_signature_with_a_dripping_registry_ends_at_its_timeout_with_exit_3(
    proxy: FaultProxy, signed: tuple[str, str, Path]
) -> None:
    """The real command in its own process: start-up is inside the measured time, hence the wider margin."""
    repo, digest, key = signed
    proxy.mode = "drip"
    args = [sys.executable, "-m", "verifier", "check", "signature"]
    args += [f"{proxy.host}/{repo}@{digest}", "--key", str(key)]
    start = time.monotonic()
    result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [*args, "--timeout", "2"], capture_output=True, text=True, timeout=120, check=False
    )
    elapsed = time.monotonic() - start
    assert result.returncode == 3, result.stderr
    assert "no answer within 2s (the --timeout deadline)" in result.stderr
    assert "raise --timeout" in result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < 2.0 + PROCESS_MARGIN, elapsed
    # The control: the same command through a well-behaved proxy admits the image.
    proxy.mode = "pass"
    ok = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [*args, "--timeout", "10"], capture_output=True, text=True, timeout=120, check=False
    )
    assert ok.returncode == 0, ok.stderr


def test_a_name_lookup_that_hangs_is_bounded_by_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """getaddrinfo takes no timeout: a resolver that hangs (patched to sleep, no DNS server runs here) must
    not hold the lookup past its deadline."""
    release = threading.Event()
    real = socket.getaddrinfo

    def hanging(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "registry.invalid":
            release.wait(30)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    try:
        error, elapsed = _timed(
            lambda: collect_image_evidence("registry.invalid/x/y@sha256:" + "0" * 64, timeout=1.0)
        )
    finally:
        release.set()
    assert isinstance(error, DeadlineExceeded) and "resolving registry.invalid" in str(error)
    assert elapsed < 1.0 + MARGIN, elapsed


def test_httpx_transports_are_bounded_by_the_deadline(
    proxy: FaultProxy, registry: LocalRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The requests that go through httpx (token servers, redirects, proxies from the environment) read
    through the deadline backend: a dripping answer on that path also ends at the deadline."""
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    with RegistryClient("registry.example", timeout=30.0) as client:
        transports = [client._client._transport, *client._client._mounts.values()]
        pools = [t._pool for t in transports if isinstance(t, httpx.HTTPTransport)]
        assert len(pools) >= 2  # the direct transport and the proxy from the environment
        assert all(isinstance(p._network_backend, _DeadlineBackend) for p in pools)
    proxy.mode = "drip"
    with RegistryClient(proxy.host, timeout=30.0) as client:

        def fetch() -> None:
            with within(Deadline.after(1.5, "lookup")):
                client._client.get(f"http://{proxy.host}/v2/", timeout=client._httpx_timeout())

        error, elapsed = _timed(fetch)
    assert isinstance(error, httpx.TimeoutException), error
    assert elapsed < 1.5 + MARGIN, elapsed


def test_lookups_go_on_when_every_collect_thread_is_busy(
    registry: LocalRegistry, signed: tuple[str, str, Path]
) -> None:
    """A slow registry can occupy every thread of the shared collect pool; other lookups then run their
    steps in their own thread instead of queueing behind it."""
    repo, digest, _ = signed
    pool = oci_common._collect_pool()
    release = threading.Event()
    blockers = [pool.submit(release.wait, 30) for _ in range(oci_common.COLLECT_THREADS)]
    try:
        evidence = collect_image_evidence(registry.ref(repo, digest), timeout=10)
    finally:
        release.set()
        for b in blockers:
            b.result(timeout=10)
    assert len(evidence.signatures) == 1


def test_deadline_exceeded_names_the_deadline_and_counts_as_could_not_evaluate() -> None:
    deadline = Deadline.after(-1.0, "--timeout")
    with pytest.raises(DeadlineExceeded) as info:
        deadline.wait("registry r")
    assert info.value.exit_code == 3
    assert "raise --timeout" in info.value.diagnostics()
    assert os.linesep not in str(info.value)


def test_a_release_of_many_images_shares_one_deadline(
    proxy: FaultProxy, signed: tuple[str, str, Path]
) -> None:
    """16 images on a dripping registry, 8 verified at a time: with a deadline per image the second eight
    would start when the first eight give up and take as long again; the command's one deadline ends all
    of them at ``timeout``."""
    from datetime import UTC, datetime

    from verifier.config import parse_config
    from verifier.pipeline import SourceOptions, run_checks

    repo, _digest, key = signed
    proxy.mode = "drip"
    images = [f"{proxy.host}/{repo}@sha256:{i:064x}" for i in range(16)]
    config = parse_config({"signers": {"key": str(key)}, "images": images}, "verifier.yaml")
    error, elapsed = _timed(
        lambda: run_checks(config, now=datetime.now(UTC), sources=SourceOptions(timeout=3.0))
    )
    assert isinstance(error, DeadlineExceeded), error
    assert "the --timeout deadline" in str(error)
    assert elapsed < 3.0 + 2.0, elapsed  # a deadline per image: about 6 s


def test_gate_with_a_dripping_registry_ends_at_its_timeout_with_exit_3(
    proxy: FaultProxy, signed: tuple[str, str, Path], tmp_path: Path
) -> None:
    """`verifier gate --timeout` bounds the gate's registry work as it bounds `check signature`'s."""
    repo, digest, key = signed
    proxy.mode = "drip"
    config = tmp_path / "verifier.yaml"
    config.write_text(f"signers:\n  key: {key}\n")
    args = [sys.executable, "-m", "verifier", "gate", "--config", str(config)]
    args += ["--image", f"{proxy.host}/{repo}@{digest}"]
    start = time.monotonic()
    result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [*args, "--timeout", "2"], capture_output=True, text=True, timeout=120, check=False
    )
    elapsed = time.monotonic() - start
    assert result.returncode == 3, result.stderr
    assert "the --timeout deadline" in result.stderr and "Traceback" not in result.stderr
    assert elapsed < 2.0 + PROCESS_MARGIN, elapsed
    proxy.mode = "pass"
    ok = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [*args, "--timeout", "10"], capture_output=True, text=True, timeout=120, check=False
    )
    assert ok.returncode == 0, ok.stderr
