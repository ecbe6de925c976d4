"""``verifier webhook`` as users run it: a real process, TLS on 127.0.0.1, stopped with SIGTERM.

The images named here point at 127.0.0.1:1 (nothing listens there), so the real signature check fails
fast with a connection error and the webhook must deny; no registry is needed for this test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import REPO, UPSTREAM
from tests.integration.webhook_support import ApiserverClient, Pki, make_pki

POD = json.loads((UPSTREAM / "admission" / "connaisseur-v3" / "02_pod.json").read_bytes())
DIGEST = "sha256:" + "ab" * 32


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(d: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    (d / "signer.pub").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    path = d / "verifier.yaml"
    path.write_text(
        "version: 1\nsigners:\n  key: signer.pub\n"
        "webhook:\n  exempt_namespaces: [kube-system]\n  verify_timeout_seconds: 3\n"
    )
    return path


def _run(args: list[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "verifier", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Pki]]:
    d = tmp_path_factory.mktemp("cmd")
    pki = make_pki(d)
    port = _free_port()
    log = (d / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "verifier",
            "webhook",
            "--config",
            str(_config(d)),
            "--tls-cert",
            str(pki.cert_file),
            "--tls-key",
            str(pki.key_file),
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        with ApiserverClient(port, pki.ca_file, timeout=2) as c:
            deadline = time.monotonic() + 30
            while True:
                if proc.poll() is not None:
                    pytest.fail(
                        f"webhook exited {proc.returncode}: {(d / 'server.log').read_text()}"
                    )
                try:
                    if c.get("/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"webhook not ready in 30 s: {(d / 'server.log').read_text()}")
                time.sleep(0.1)
        yield port, pki
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal it captured.
    text = (d / "server.log").read_text()
    assert proc.returncode in (0, -signal.SIGTERM), text
    assert "Application shutdown complete" in text


def _pod(image: str, namespace: str = "apps") -> bytes:
    doc = json.loads(json.dumps(POD))
    doc["request"]["namespace"] = namespace
    doc["request"]["object"]["spec"]["containers"][0]["image"] = image
    return json.dumps(doc).encode()


def test_command_denies_what_it_cannot_verify(served: tuple[int, Pki]) -> None:
    port, pki = served
    with ApiserverClient(port, pki.ca_file) as c:
        start = time.monotonic()
        answer = c.review(_pod(f"127.0.0.1:1/app@{DIGEST}"))
        assert time.monotonic() - start < 10
        assert answer.response is not None and answer.response["allowed"] is False
        assert "could not be verified" in answer.response["status"]["message"]
        tag = c.review(_pod("127.0.0.1:1/app:v1"))
        assert tag.response is not None and tag.response["allowed"] is False
        assert "not pinned by digest" in tag.response["status"]["message"]
        exempt = c.review(_pod("127.0.0.1:1/app:v1", namespace="kube-system"))
        assert exempt.response is not None and exempt.response["allowed"] is True
        metrics = c.get("/metrics").text
        assert 'verifier_webhook_decisions_total{result="denied"} 2.0' in metrics


def test_command_refuses_a_config_without_signers(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    (tmp_path / "v.yaml").write_text("version: 1\nwebhook: {mode: warn}\n")
    res = _run(
        [
            "webhook",
            "--config",
            str(tmp_path / "v.yaml"),
            "--tls-cert",
            str(pki.cert_file),
            "--tls-key",
            str(pki.key_file),
            "--port",
            str(_free_port()),
        ]
    )
    assert res.returncode == 2
    assert "the webhook needs a signers: section" in res.stderr


@pytest.mark.parametrize(
    "signers",
    ["signers: {key: missing.pub}", "signers: {release: {key: missing.pub}, other: {key: k.pub}}"],
)
def test_command_refuses_a_signer_key_it_cannot_read(tmp_path: Path, signers: str) -> None:
    """A missing key file stops the webhook at start-up (exit 2, the file named), not at every image."""
    pki = make_pki(tmp_path)
    (tmp_path / "k.pub").write_text("not a key\n")
    (tmp_path / "v.yaml").write_text(f"version: 1\n{signers}\n")
    res = _run(
        [
            "webhook",
            "--config",
            str(tmp_path / "v.yaml"),
            "--tls-cert",
            str(pki.cert_file),
            "--tls-key",
            str(pki.key_file),
            "--port",
            str(_free_port()),
        ]
    )
    assert res.returncode == 2, res.stderr
    assert str(tmp_path / "missing.pub") in res.stderr and "no such file" in res.stderr


def test_command_refuses_unknown_webhook_keys(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    (tmp_path / "v.yaml").write_text("version: 1\nwebhook: {mode: enforce, exempt: [a]}\n")
    res = _run(
        [
            "webhook",
            "--config",
            str(tmp_path / "v.yaml"),
            "--tls-cert",
            str(pki.cert_file),
            "--tls-key",
            str(pki.key_file),
        ]
    )
    assert res.returncode == 2
    assert "unknown key 'webhook.exempt'" in res.stderr


def test_command_requires_tls(tmp_path: Path) -> None:
    res = _run(["webhook", "--config", str(_config(tmp_path))])
    assert res.returncode == 2
    assert "--tls-cert" in res.stderr
