"""The webhook over real TLS on 127.0.0.1, driven by a client that behaves like the kube-apiserver.

Every AdmissionReview in ``tests/assets/upstream/admission/`` is sent; the expected answer of each is written
by hand in ``tests/assets/admission/cases.yaml``.

Image verification is a stand-in (:func:`allow_list_verifier`): it passes images whose ``repo@digest`` is
on an allow-list and fails the others with the ``no-signature`` finding the real signature check gives.
It stands in for the registry because these requests name images on Docker Hub, quay.io and made-up
registries (``my.reg``) that cannot be reached here, and the registry-backed signature check belongs to
another helper's work (``verifier.checks.signature``); the registry-backed path is exercised in
``test_webhook_registry.py``. Everything else is real: uvicorn + starlette, TLS, the AdmissionReview
parsing, the rules, the cache and the Rego policy bundle deciding each image.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import shutil
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client import generate_latest

from tests.conftest import ASSETS, UPSTREAM
from tests.integration.webhook_support import (
    SERVICE,
    ApiserverClient,
    ApiserverRejectedError,
    Pki,
    ServerThread,
    check_answer,
    issue_server_cert,
    make_ca,
    make_pki,
    write_pem,
)
from verifier.adapters.commands.webhook import load_webhook_config
from verifier.adapters.webhook import Metrics, create_app
from verifier.admission.decider import AdmissionDecider, WebhookConfig
from verifier.models import CheckResult, Finding, Severity

ADMISSION = UPSTREAM / "admission"
CASES = yaml.safe_load((ASSETS / "admission" / "cases.yaml").read_text())
CONFIG_FILE = ASSETS / "admission" / "webhook.yaml"


def load_config(path: Path) -> WebhookConfig:
    """The webhook: section of a verifier.yaml, read by the one loader."""
    return load_webhook_config(path)[0]


CHARLIE = "sha256:91ac9b26df583762234c1cdb2fc930364754ccc59bc752a2bfe298d2ea68f9ff"
ALICE = "sha256:1234567890123456123456789012345612345678901234561234567890123456"
ALLOWED = {
    f"docker.io/securesystemsengineering/charlie-image@{CHARLIE}",
    f"my.reg/allow-me@{CHARLIE}",
    f"docker.io/securesystemsengineering/alice-image@{ALICE}",
}
TAGS = {"docker.io/securesystemsengineering/alice-image:test": ALICE}


class AllowListVerifier:
    """Stand-in for the registry-backed signature check (see the module docstring): records its calls."""

    def __init__(self, allowed: set[str], delay: float = 0.0) -> None:
        self.allowed = allowed
        self.delay = delay
        self.calls: list[str] = []

    def __call__(self, ref: str) -> CheckResult:
        self.calls.append(ref)
        if self.delay:
            time.sleep(self.delay)
        if ref in self.allowed:
            return CheckResult(
                check="signature", subject=ref, verdict="pass", facts={"count": 1, "failed": 0}
            )
        finding = Finding(rule="no-signature", severity=Severity.HIGH, message="no signature found")
        return CheckResult(
            check="signature",
            subject=ref,
            verdict="fail",
            findings=(finding,),
            facts={"count": 0, "failed": 0},
        )


def allow_list_verifier(delay: float = 0.0) -> AllowListVerifier:
    """The stand-in with the allow-list of ``cases.yaml``."""
    return AllowListVerifier(set(ALLOWED), delay)


def resolve_tag(ref: str) -> str:
    """Tag → digest stand-in: knows one tag, like a registry that has only alice-image:test."""
    if ref in TAGS:
        return TAGS[ref]
    raise LookupError(f"{ref}: unknown tag")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _server(pki: Pki, config: WebhookConfig, verifier: Any) -> tuple[ServerThread, Metrics]:
    metrics = Metrics()
    decider = AdmissionDecider(config, verifier, resolve_digest=resolve_tag, events=metrics.event)
    app = create_app(decider, metrics_=metrics, max_body=2 * 1024 * 1024)
    return ServerThread(app, pki).start(), metrics


@pytest.fixture(scope="module")
def server(pki: Pki) -> Iterator[ServerThread]:
    srv, _ = _server(pki, load_config(CONFIG_FILE), allow_list_verifier())
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def client(server: ServerThread, pki: Pki) -> Iterator[ApiserverClient]:
    with ApiserverClient(server.port, pki.ca_file) as c:
        yield c


def test_every_case_file_exists_and_every_request_has_a_case() -> None:
    files = {c["file"] for c in CASES}
    on_disk = {
        str(p.relative_to(ADMISSION))
        for p in ADMISSION.rglob("*.json")
        if "policy-examples" not in p.parts
    }
    assert files == on_disk
    assert len({c["id"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_real_admission_request(case: dict[str, Any], client: ApiserverClient) -> None:
    body = (ADMISSION / case["file"]).read_bytes()
    answer = client.review(body)
    assert answer.status == case.get("status", 200), answer.body
    if answer.status != 200:
        assert "error" in json.loads(answer.body)
        return
    response = answer.response
    assert response is not None
    assert response["allowed"] is case["allowed"], response
    message = response.get("status", {}).get("message", "")
    if "message" in case:
        assert case["message"] in message
    if "message_absent" in case:
        assert case["message_absent"] not in message
    if not case["allowed"]:
        assert response["status"]["code"] in (400, 403)
    warnings = response.get("warnings", [])
    if "warning" in case:
        assert any(case["warning"] in w for w in warnings), warnings
    if "warning_count" in case:
        assert len(warnings) == case["warning_count"], warnings
    if case.get("no_warning"):
        assert warnings == []
    if "audit" in case:
        assert case["audit"] in response["auditAnnotations"]["would-deny"]


def test_answer_uses_the_request_api_version_and_uid(client: ApiserverClient) -> None:
    for name, version in (
        ("connaisseur-v3/02_pod.json", "admission.k8s.io/v1"),
        ("connaisseur-v3/13_unknown_parent.json", "admission.k8s.io/v1beta1"),
    ):
        doc = json.loads((ADMISSION / name).read_bytes())
        doc["request"]["uid"] = "0f0e0d0c-0000-4000-8000-000000000001"
        answer = client.review(json.dumps(doc).encode())
        assert answer.body["apiVersion"] == version
        assert answer.body["response"]["uid"] == "0f0e0d0c-0000-4000-8000-000000000001"


def test_client_rejects_mismatched_uid_or_api_version() -> None:
    body = (ADMISSION / "connaisseur-v3/02_pod.json").read_bytes()
    sent = json.loads(body)
    good = {
        "apiVersion": sent["apiVersion"],
        "kind": "AdmissionReview",
        "response": {"uid": sent["request"]["uid"], "allowed": True},
    }
    assert check_answer(body, good)["allowed"] is True
    with pytest.raises(ApiserverRejectedError, match="uid"):
        check_answer(body, {**good, "response": {"uid": "other", "allowed": True}})
    with pytest.raises(ApiserverRejectedError, match="apiVersion"):
        check_answer(body, {**good, "apiVersion": "admission.k8s.io/v1beta1"})


def test_tls_hostname_is_verified(server: ServerThread, pki: Pki) -> None:
    with ApiserverClient(server.port, pki.ca_file, server_name="other.verifier-system.svc") as c:
        with pytest.raises(httpx.ConnectError, match="(?i)certificate|hostname"):
            c.get("/healthz")


def test_untrusted_ca_is_refused(server: ServerThread, tmp_path: Path) -> None:
    _key, other_ca = make_ca("some other CA")
    write_pem(tmp_path / "other.pem", other_ca)
    with ApiserverClient(server.port, tmp_path / "other.pem") as c:
        with pytest.raises(httpx.ConnectError, match="(?i)certificate"):
            c.get("/healthz")


def test_plain_http_is_not_served(server: ServerThread) -> None:
    with httpx.Client(timeout=5.0) as c:
        with pytest.raises(httpx.HTTPError):
            c.get(f"http://127.0.0.1:{server.port}/healthz")


# --------------------------------------------------------------------------------------- bad requests


def test_malformed_json_is_400(client: ApiserverClient) -> None:
    resp = client.post("/validate?timeout=10s", b'{"kind": "AdmissionReview", "apiVersion": ')
    assert resp.status_code == 400
    assert "not valid JSON" in resp.json()["error"]


def test_wrong_content_type_is_400(client: ApiserverClient) -> None:
    body = (ADMISSION / "connaisseur-v3/02_pod.json").read_bytes()
    resp = client.post("/validate?timeout=10s", body, content_type="text/plain")
    assert resp.status_code == 400
    assert "application/json" in resp.json()["error"]


def test_ten_megabyte_body_is_400(client: ApiserverClient) -> None:
    doc = json.loads((ADMISSION / "connaisseur-v3/02_pod.json").read_bytes())
    doc["request"]["object"]["metadata"]["annotations"]["pad"] = "x" * (10 * 1024 * 1024)
    resp = client.post("/validate?timeout=10s", json.dumps(doc).encode())
    assert resp.status_code == 400
    assert "larger than" in resp.json()["error"]


def test_ten_megabyte_chunked_body_is_400(client: ApiserverClient) -> None:
    """No Content-Length (chunked upload): the limit is enforced while reading."""

    def chunks() -> Iterator[bytes]:
        yield b'{"kind": "AdmissionReview", "pad": "'
        for _ in range(160):
            yield b"x" * 65536
        yield b'"}'

    resp = client.client.post(
        client.url("/validate?timeout=10s"),
        content=chunks(),
        headers={"Content-Type": "application/json", "Host": SERVICE},
        extensions={"sni_hostname": SERVICE},
    )
    assert resp.status_code == 400
    assert "larger than" in resp.json()["error"]


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'"AdmissionReview"',
        b"42",
        b'{"kind": "Pod"}',
        b'{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v2", "request": {"uid": "u"}}',
        b'{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": []}',
        b"[" * 100000 + b"]" * 100000,
    ],
    ids=["list", "string", "number", "pod", "unknown-version", "request-list", "deep-nesting"],
)
def test_non_admission_review_json_is_400(client: ApiserverClient, body: bytes) -> None:
    resp = client.post("/validate", body)
    assert resp.status_code == 400
    assert resp.json()["error"]


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda r: r.update(operation="PATCH"), "request.operation 'PATCH'"),
        (lambda r: r.update(object="a string"), "request.object is not an object"),
        (lambda r: r.update(kind=None), "request.kind.kind is missing"),
        (lambda r: r.update(dryRun="yes"), "request.dryRun is not a boolean"),
        (lambda r: r["object"]["spec"]["containers"][0].pop("image"), "has no image"),
        (lambda r: r["object"]["spec"].update(containers={"a": 1}), "is not a list"),
        (lambda r: r["object"]["spec"].update(containers=[]), "has no containers"),
    ],
    ids=["operation", "object", "kind", "dryrun", "no-image", "containers-map", "no-containers"],
)
def test_malformed_request_with_uid_is_denied(
    client: ApiserverClient, mutate: Any, fragment: str
) -> None:
    doc = json.loads((ADMISSION / "connaisseur-v3/02_pod.json").read_bytes())
    mutate(doc["request"])
    answer = client.review(json.dumps(doc).encode())
    assert answer.status == 200
    assert answer.response is not None
    assert answer.response["allowed"] is False
    assert fragment in answer.response["status"]["message"]


def test_get_on_validate_is_405(client: ApiserverClient) -> None:
    assert client.get("/validate").status_code == 405


def test_server_survives_the_bad_requests(client: ApiserverClient) -> None:
    client.post("/validate", b"\xff\xfe garbage")
    client.post("/validate", b"{}", content_type="application/x-www-form-urlencoded")
    answer = client.review((ADMISSION / "connaisseur-v3/02_pod.json").read_bytes())
    assert answer.response is not None and answer.response["allowed"] is True


# ---------------------------------------------------------------------------------- health and metrics


def test_health_and_readiness(client: ApiserverClient) -> None:
    assert client.get("/healthz").text == "ok"
    resp = client.get("/readyz")
    assert (resp.status_code, resp.text) == (200, "ready")


def test_not_ready_when_warmup_fails(pki: Pki) -> None:
    def broken() -> None:
        raise RuntimeError("policy bundle missing")

    decider = AdmissionDecider(WebhookConfig(), allow_list_verifier())
    srv = ServerThread(create_app(decider, warmup=broken), pki).start()
    try:
        with ApiserverClient(srv.port, pki.ca_file) as c:
            assert c.get("/readyz").status_code == 503
            assert c.get("/healthz").status_code == 200
    finally:
        srv.stop()


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line == name:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_decisions_cache_and_latency(pki: Pki) -> None:
    verifier = allow_list_verifier()
    srv, _metrics = _server(pki, load_config(CONFIG_FILE), verifier)
    try:
        with ApiserverClient(srv.port, pki.ca_file) as c:
            allowed = (ADMISSION / "connaisseur-v3/02_pod.json").read_bytes()
            for _ in range(3):
                c.review(allowed)
            c.review((ADMISSION / "connaisseur-v3/17_deny_me_pod.json").read_bytes())
            c.post("/validate", b"nope")
            resp = c.get("/metrics")
    finally:
        srv.stop()
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    assert _metric(text, 'verifier_webhook_decisions_total{result="allowed"}') == 3
    assert _metric(text, 'verifier_webhook_decisions_total{result="denied"}') == 1
    assert _metric(text, 'verifier_webhook_decisions_total{result="bad-request"}') == 1
    assert _metric(text, 'verifier_webhook_cache_total{result="miss"}') == 2
    assert _metric(text, 'verifier_webhook_cache_total{result="hit"}') == 2
    assert _metric(text, "verifier_webhook_request_duration_seconds_count") == 5
    # The same image three times: verified once, then served from the cache.
    assert verifier.calls.count(f"docker.io/securesystemsengineering/charlie-image@{CHARLIE}") == 1


# ---------------------------------------------------------------------------------- resource limits


def _review_with(pad: Any, uid: str = "large", image: str | None = None) -> bytes:
    doc = json.loads((ADMISSION / "connaisseur-v3/18_allow_me_pod.json").read_bytes())
    doc["request"]["uid"] = uid
    doc["request"]["object"]["metadata"].setdefault("annotations", {})["pad"] = pad
    if image is not None:
        doc["request"]["object"]["spec"]["containers"][0]["image"] = image
    return json.dumps(doc, separators=(",", ":")).encode()


def test_large_review_made_of_strings_is_decided(client: ApiserverClient) -> None:
    """What makes real reviews large (a big annotation such as last-applied-configuration, with its braces
    and commas) is decided like any other review."""
    embedded = json.dumps(
        {
            "spec": {
                "containers": [
                    {"name": f"c{i}", "env": [{"name": "A", "value": "1"}]} for i in range(5000)
                ]
            }
        }
    )
    body = _review_with(embedded + "x" * (1024 * 1024))
    assert len(body) > 1024 * 1024
    answer = client.review(body)
    assert answer.response is not None and answer.response["allowed"] is True


def test_large_review_made_of_tiny_values_is_refused_before_parsing(
    client: ApiserverClient,
) -> None:
    """600 KB of ``0,``: 300,000 values. Parsed, 7 MiB of such values would hold the event loop for
    seconds and take ~180 MiB; the count is checked first."""
    resp = client.post("/validate?timeout=10s", _review_with([0] * 300_000))
    assert resp.status_code == 400
    assert "JSON values, more than the limit of 250000" in resp.json()["error"]


def test_body_sent_too_slowly_is_cut_off_at_the_deadline(server: ServerThread, pki: Pki) -> None:
    """A client that announces 5,000 bytes and sends 10 cannot hold a request open: 408 at the deadline
    (``?timeout=2s`` minus the 1 s margin)."""
    ctx = ssl.create_default_context(cafile=str(pki.ca_file))
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=SERVICE) as tls,
    ):
        tls.sendall(
            b"POST /validate?timeout=2s HTTP/1.1\r\nHost: "
            + SERVICE.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
            + b'{"kind": "'
        )
        start = time.monotonic()
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = tls.recv(4096)
            if not chunk:
                break
            answer += chunk
        elapsed = time.monotonic() - start
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
    assert 0.8 < elapsed < 3.0


def test_large_reviews_beyond_the_limit_wait_then_get_503(pki: Pki) -> None:
    """Two large reviews hold both slots (their image takes 3 s to verify); a third waits for a slot until
    its own deadline and is answered 503, a webhook failure (a deny under failurePolicy Fail)."""
    verifier = allow_list_verifier(delay=3.0)
    srv, metrics = _server(pki, load_config(CONFIG_FILE), verifier)
    pad = "x" * (512 * 1024)
    images = sorted(ALLOWED)[
        :2
    ]  # two images: two lookups, so both reviews are seen to hold their slot
    try:
        clients = [ApiserverClient(srv.port, pki.ca_file) for _ in range(3)]
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            first = [
                pool.submit(clients[i].review, _review_with(pad, f"big-{i}", images[i]))
                for i in range(2)
            ]
            deadline = time.monotonic() + 10
            while len(verifier.calls) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)  # both are past parsing, inside their slot, verifying
            assert len(verifier.calls) == 2
            start = time.monotonic()
            third = clients[2].post("/validate?timeout=2s", _review_with(pad, "big-2"))
            elapsed = time.monotonic() - start
            answers = [f.result() for f in first]
        for c in clients:
            c.close()
    finally:
        srv.stop()
    assert third.status_code == 503 and "large reviews at once" in third.json()["error"]
    assert 0.5 < elapsed < 2.0
    assert all(a.response is not None and a.response["allowed"] for a in answers)
    assert (
        'verifier_webhook_bad_requests_total{reason="busy"} 1.0'
        in generate_latest(metrics.registry).decode()
    )


# ------------------------------------------------------------------------------- deadline and sharing


def test_slow_verification_denies_within_the_deadline(pki: Pki) -> None:
    verifier = allow_list_verifier(delay=3.0)
    config = dataclasses.replace(load_config(CONFIG_FILE), timeout_margin_seconds=0.5)
    srv, _ = _server(pki, config, verifier)
    try:
        with ApiserverClient(srv.port, pki.ca_file, timeout=2) as c:
            start = time.monotonic()
            answer = c.review(
                (ADMISSION / "connaisseur-v3/02_pod.json").read_bytes(), timeout_param="2s"
            )
            elapsed = time.monotonic() - start
    finally:
        srv.stop()
    assert answer.response is not None
    assert answer.response["allowed"] is False
    assert "did not finish within 1.5s" in answer.response["status"]["message"]
    assert elapsed < 2.0  # answered before the apiserver's own 2 s timeout


def test_concurrent_requests_share_one_lookup(pki: Pki) -> None:
    verifier = allow_list_verifier(delay=0.5)
    srv, _metrics = _server(pki, load_config(CONFIG_FILE), verifier)
    body = (ADMISSION / "connaisseur-v3/18_allow_me_pod.json").read_bytes()
    try:
        clients = [ApiserverClient(srv.port, pki.ca_file) for _ in range(8)]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda c: c.review(body), clients))
        for c in clients:
            c.close()
    finally:
        srv.stop()
    assert all(a.response is not None and a.response["allowed"] for a in answers)
    assert verifier.calls == [f"my.reg/allow-me@{CHARLIE}"]


# ------------------------------------------------------------------------------------ certificate reload


def test_certificate_reload_without_restart(pki: Pki, tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    for f in (pki.cert_file, pki.key_file, pki.ca_file):
        shutil.copy(f, own / f.name)
    pki_copy = Pki(own / "ca.pem", own / "tls.crt", own / "tls.key", pki.ca_key, pki.ca_cert)
    srv, _ = _server(pki_copy, load_config(CONFIG_FILE), allow_list_verifier())
    try:
        new_ca_key, new_ca = make_ca("rotated CA")
        write_pem(tmp_path / "new-ca.pem", new_ca)
        with ApiserverClient(srv.port, pki.ca_file) as old_client:
            assert (
                old_client.get("/healthz").status_code == 200
            )  # keep-alive connection on the old cert
            key, cert = issue_server_cert(new_ca_key, new_ca, [SERVICE])
            write_pem(own / "tls.key", key)
            write_pem(own / "tls.crt", cert)
            deadline = time.monotonic() + 5
            while srv.reloader.reloads == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert srv.reloader.reloads == 1
            # The established connection still works; new connections get the new certificate.
            assert old_client.get("/healthz").status_code == 200
            with ApiserverClient(srv.port, tmp_path / "new-ca.pem") as new_client:
                assert new_client.get("/healthz").status_code == 200
            with ApiserverClient(srv.port, pki.ca_file) as stale, pytest.raises(httpx.ConnectError):
                stale.get("/healthz")
            # A broken pair (key does not match) keeps the current certificate.
            write_pem(own / "tls.key", make_ca()[0])
            time.sleep(0.5)
            assert srv.reloader.reloads == 1
            with ApiserverClient(srv.port, tmp_path / "new-ca.pem") as new_client:
                assert new_client.get("/healthz").status_code == 200
    finally:
        srv.stop()


def test_exempt_namespace_answer_carries_an_audit_annotation(client: ApiserverClient) -> None:
    answer = client.review((ADMISSION / "connaisseur-v3/06_daemonset.json").read_bytes())
    assert answer.response is not None
    assert answer.response["allowed"] is True
    # A bare key: the apiserver prefixes it with the webhook's name ("images.verifier.dev/exempt").
    assert answer.response["auditAnnotations"] == {"exempt": "namespace"}


def test_certificate_reload_follows_a_kubelet_secret_swap(tmp_path: Path) -> None:
    """A mounted Secret is ``tls.crt -> ..data/tls.crt`` with ``..data`` an atomically swapped symlink."""
    import ssl

    from verifier.adapters.webhook import CertReloader

    def version(name: str, ca: tuple[Any, Any]) -> Path:
        d = tmp_path / name
        d.mkdir()
        key, cert = issue_server_cert(ca[0], ca[1], [SERVICE])
        write_pem(d / "tls.key", key)
        write_pem(d / "tls.crt", cert)
        return d

    first = version("..v1", make_ca("first"))
    (tmp_path / "..data").symlink_to(first.name)
    for name in ("tls.crt", "tls.key"):
        (tmp_path / name).symlink_to(f"..data/{name}")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / "tls.crt", tmp_path / "tls.key")
    reloader = CertReloader(ctx, str(tmp_path / "tls.crt"), str(tmp_path / "tls.key"))
    assert reloader.check() is False  # nothing changed yet
    second = version("..v2", make_ca("second"))
    (tmp_path / "..data_tmp").symlink_to(second.name)
    (tmp_path / "..data_tmp").rename(tmp_path / "..data")  # what the kubelet does
    assert reloader.check() is True
    assert reloader.check() is False
    assert reloader.reloads == 1
