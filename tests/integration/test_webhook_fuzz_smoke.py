"""A few hostile AdmissionReview bodies through the real server: uvicorn over TLS, driven by the
apiserver-like client of webhook_support.py, checked against the same oracle as the in-process fuzzer
(tests/fuzz/test_fuzz_admission.py, which sends thousands in-process; this shows that what holds for the
ASGI app holds on the wire too). Image verification is the fuzzer's allow-list stand-in (see
tests/fuzz/admission.py for why)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz.admission import CONFIG as FUZZ_CONFIG
from tests.fuzz.admission import DIGEST_A, AllowList, Reply
from tests.fuzz.test_fuzz_admission import check_answer, review_bodies
from tests.integration.webhook_support import ApiserverClient, Pki, ServerThread, make_pki
from verifier.adapters.webhook import Metrics, create_app
from verifier.admission.decider import AdmissionDecider

POD = {
    "apiVersion": "admission.k8s.io/v1",
    "kind": "AdmissionReview",
    "request": {
        "uid": "u-1",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "operation": "CREATE",
        "namespace": "default",
        "object": {
            "spec": {"containers": [{"name": "a", "image": f"ghcr.io/acme/app@{DIGEST_A}"}]}
        },
    },
}
_TEXT = json.dumps(POD)
NASTY = {
    "allowed-pod": _TEXT.encode(),
    "huge-operation": _TEXT.replace('"CREATE"', '"' + "C" * 500_000 + '"').encode(),
    "deep-operation": _TEXT.replace('"CREATE"', "[" * 900 + "]" * 900).encode(),
    "encoded-surrogate": _TEXT.replace('"default"', '"d\xed\xa0\x80"').encode("latin-1"),
    "escaped-surrogate-uid": _TEXT.replace('"u-1"', '"\\ud800"').encode(),
    "utf-16": _TEXT.encode("utf-16"),
    "bad-image-behind-allowed": _TEXT.replace(
        '"image": ', '"image": "ghcr.io/acme/evil@' + DIGEST_A + '", "imagePullPolicy": 1, "x": '
    ).encode(),
    "volume-image": _TEXT.replace(
        '"containers"',
        '"volumes": [{"name": "v", "image": {"reference": "ghcr.io/acme/evil:1"}}], "containers"',
    ).encode(),
    "volume-image-not-object": _TEXT.replace(
        '"containers"', '"volumes": [{"name": "v", "image": "ghcr.io/acme/evil:1"}], "containers"'
    ).encode(),
    "nan-dryrun": _TEXT.replace('"CREATE"', '"CREATE", "dryRun": NaN').encode(),
    "big-annotation": _TEXT.replace(
        '"spec"', '"metadata": {"annotations": {"a": "' + "x" * 400_000 + '"}}, "spec"'
    ).encode(),
}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def client(pki: Pki) -> Iterator[ApiserverClient]:
    metrics = Metrics()
    decider = AdmissionDecider(FUZZ_CONFIG, AllowList(), events=metrics.event)
    server = ServerThread(create_app(decider, metrics_=metrics, max_body=2 * 1024 * 1024), pki)
    server.start()
    try:
        with ApiserverClient(server.port, pki.ca_file) as c:
            yield c
    finally:
        server.stop()


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """The ``verifier`` log records of the server thread during one test."""
    kept: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = kept.append  # type: ignore[method-assign]
    logger = logging.getLogger("verifier")
    logger.addHandler(handler)
    try:
        yield kept
    finally:
        logger.removeHandler(handler)


def _send(client: ApiserverClient, body: bytes) -> Reply:
    resp = client.post("/validate?timeout=10s", body)
    return Reply(resp.status_code, resp.content)


@pytest.mark.parametrize("name", list(NASTY))
def test_nasty_body_over_tls(
    client: ApiserverClient, records: list[logging.LogRecord], name: str
) -> None:
    """Each hand-picked body: the oracle's answer, over the wire."""
    reply = _send(client, NASTY[name])
    check_answer(NASTY[name], reply, records)
    if name == "allowed-pod":  # the oracle only forbids wrong allows: show that a right one happens
        assert json.loads(reply.body)["response"]["allowed"] is True
    if name.startswith(("volume-image", "bad-image")):
        assert json.loads(reply.body)["response"]["allowed"] is False


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(body=review_bodies())
def test_fuzzed_bodies_over_tls(
    client: ApiserverClient, records: list[logging.LogRecord], body: bytes
) -> None:
    """A few of the in-process fuzzer's bodies, over the wire."""
    records.clear()
    check_answer(body, _send(client, body), records)
