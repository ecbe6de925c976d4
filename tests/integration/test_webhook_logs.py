"""``verifier -v webhook`` with hostile names in the requests (issue 19): the log cannot be forged and the
decision log keeps a record of every decision.

A real process on 127.0.0.1 over TLS, as in test_webhook_command.py; the images point at 127.0.0.1:1
(nothing listens there), so every image is denied after a fast connection error.
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
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import REPO, UPSTREAM
from tests.integration.webhook_support import ApiserverClient, Pki, make_pki
from verifier.records.decision_log import read_records

POD = json.loads((UPSTREAM / "admission" / "connaisseur-v3" / "02_pod.json").read_bytes())
DIGEST = "sha256:" + "ab" * 32
FORGED = "verifier: INFO: uid=forged: admitted"
HOSTILE_NAMES = [
    f"127.0.0.1:1/app\n{FORGED}@{DIGEST}",
    f"127.0.0.1:1/app\ud800@{DIGEST}",
    f"127.0.0.1:1/app\x1b[2J\x1b[31m@{DIGEST}",
    f"127.0.0.1:1/app\r{FORGED}\u2028@{DIGEST}",
    f"127.0.0.1:1/app:v1\n{FORGED}",
]


@dataclass(frozen=True)
class Served:
    """The running webhook: its port, PKI, and the files it writes."""

    port: int
    pki: Pki
    server_log: Path
    decision_log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    d = tmp_path_factory.mktemp("logs")
    pki = make_pki(d)
    key = ec.generate_private_key(ec.SECP256R1())
    (d / "signer.pub").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    config = d / "verifier.yaml"
    config.write_text(
        "version: 1\nsigners:\n  key: signer.pub\ndecision_log: decisions.jsonl\n"
        "webhook:\n  verify_timeout_seconds: 3\n"
    )
    port = _free_port()
    served = Served(port, pki, d / "server.log", d / "decisions.jsonl")
    out = served.server_log.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "verifier", "-vv", "webhook", "--config", str(config)]
        + ["--tls-cert", str(pki.cert_file), "--tls-key", str(pki.key_file), "--port", str(port)],
        stdout=out,
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
                        f"webhook exited {proc.returncode}: {served.server_log.read_text()}"
                    )
                try:
                    if c.get("/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"webhook not ready in 30 s: {served.server_log.read_text()}")
                time.sleep(0.1)
        yield served
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        out.close()


def _pod(image: str, name: str) -> bytes:
    doc = json.loads(json.dumps(POD))
    doc["request"]["uid"] = f"uid-{name}"
    doc["request"]["name"] = name
    doc["request"]["object"]["metadata"]["name"] = name
    doc["request"]["object"]["spec"]["containers"][0]["image"] = image
    # ensure_ascii: a lone surrogate travels as the JSON escape \ud800, as an apiserver would send it.
    return json.dumps(doc, ensure_ascii=True).encode()


def test_hostile_names_neither_forge_log_lines_nor_lose_records(served: Served) -> None:
    with ApiserverClient(served.port, served.pki.ca_file) as c:
        for i, image in enumerate(HOSTILE_NAMES):
            answer = c.review(_pod(image, f"pod-{i}\n{FORGED}"))
            assert answer.response is not None and answer.response["allowed"] is False
    records, problems = read_records(served.decision_log)
    assert problems == []
    assert len(records) == len(HOSTILE_NAMES)
    assert [r.allowed for r in records] == [False] * len(HOSTILE_NAMES)
    assert all(r.subject.startswith("Pod ") and FORGED in r.subject for r in records)

    log = served.server_log.read_bytes().decode("utf-8")
    lines = log.split("\n")
    # -vv logs every request: there is something to forge.
    assert any("uid-pod-0" in line for line in lines)
    starts = ("verifier: ", "verifier webhook: ", "  | ")
    for line in lines:
        assert line == "" or line.startswith(starts), repr(line)
        assert not line.startswith(FORGED), line
    assert "\x1b" not in log and "\r" not in log and "\u2028" not in log
    assert "Logging error" not in log and "Traceback" not in log
