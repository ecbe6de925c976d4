"""The OPA-server engine (opa-python-client, `--opa-url`) against an HTTP server on 127.0.0.1 whose every
decision is made by real OPA (opa-golib-python-bindings, in-process).

No `opa` binary can be installed here (not in Debian, no GitHub downloads), so the HTTP layer is a small
stand-in implementing the two OPA REST endpoints the client uses (PUT /v1/policies/<id>, POST
/v1/data/<path>); the Rego evaluation behind it is the real OPA engine.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opa_bindings import OpaEngine, OpaError, OpaUndefinedError

from tests.cli import run_cli
from tests.conftest import UPSTREAM
from verifier.checks import sarif_severity
from verifier.errors import NetworkError, PolicyError
from verifier.policy.engine import build_input, default_policy_dir
from verifier.policy.opa_server import OpaServerEngine
from verifier.policy.regorus_engine import RegorusEngine
from verifier.sources.scan_reports import load_scan_report


class _OpaRest(BaseHTTPRequestHandler):
    engine: Any
    lock = threading.Lock()

    def log_message(self, *_: Any) -> None:
        pass

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
        module = self.path.removeprefix("/v1/policies/")
        try:
            with self.lock:
                self.engine.add_policy(module, self._body().decode())
        except OpaError as exc:
            self._reply(400, {"code": "invalid_parameter", "message": str(exc), "errors": []})
            return
        self._reply(200, {})

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.removeprefix("/v1/data/").replace("/", ".")
        doc = json.loads(self._body())
        try:
            with self.lock:
                value = self.engine.eval_document(path, doc.get("input"))
        except OpaUndefinedError:
            self._reply(200, {})  # OPA answers an undefined document with no "result"
            return
        self._reply(200, {"result": value})


@pytest.fixture
def opa_url() -> Iterator[str]:
    handler = type("Handler", (_OpaRest,), {"engine": OpaEngine()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    handler.engine.close()


REPORT = UPSTREAM / "sarif" / "trivy" / "ratify-trivy-alpine-critical.sarif.json"


def test_server_decisions_equal_the_embedded_engine(opa_url: str) -> None:
    engine = OpaServerEngine(opa_url)
    engine.upload_bundle(default_policy_dir())
    result = sarif_severity.evaluate(load_scan_report(REPORT), "scan.sarif")
    for config in (
        {},
        {"sarif-severity": {"fail_on": ["low"]}},
        {"sarif-severity": {"fail_on": ["unknown"]}},
    ):
        doc = build_input([result], config, datetime(2026, 11, 26, tzinfo=UTC))
        assert engine.evaluate(doc) == RegorusEngine.for_bundle(default_policy_dir()).evaluate(doc)
    denied = engine.evaluate(build_input([result], {}, datetime(2026, 11, 26, tzinfo=UTC)))
    assert (
        not denied.allowed
        and "scan.sarif: 4 unwaived critical finding(s) (fail-on: critical,high)" in denied.deny
    )


def test_cli_decides_on_the_server(opa_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    OpaServerEngine(opa_url).upload_bundle(default_policy_dir())
    run = run_cli(capsys, "check", "sarif", str(REPORT), "--opa-url", opa_url, "--format", "json")
    assert run.code == 1
    assert json.loads(run.out)["decision"]["deny"][0].startswith(
        f"{REPORT}: 29 unwaived high finding(s)"
    )


def test_server_without_the_bundle_is_a_policy_error(opa_url: str) -> None:
    with pytest.raises(PolicyError, match="package 'verifier' is not loaded"):
        OpaServerEngine(opa_url).evaluate(build_input([], {}, datetime(2026, 11, 26, tzinfo=UTC)))


def test_rejected_policy_is_a_policy_error(opa_url: str, tmp_path: Any) -> None:
    (tmp_path / "bad.rego").write_text("package verifier\ndeny contains msg if {\n")
    with pytest.raises(PolicyError):
        OpaServerEngine(opa_url).upload_bundle(tmp_path)


def test_unreachable_server_is_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(NetworkError):
        OpaServerEngine("http://127.0.0.1:9", timeout=1).evaluate({"results": []})
    run = run_cli(capsys, "check", "sarif", str(REPORT), "--opa-url", "http://127.0.0.1:9")
    assert run.code == 3 and "OPA server http://127.0.0.1:9 unreachable" in run.err


def test_bad_url_is_refused() -> None:
    with pytest.raises(PolicyError, match="--opa-url must be http"):
        OpaServerEngine("ftp://example")
