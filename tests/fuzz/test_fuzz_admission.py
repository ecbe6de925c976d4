"""Bounded fuzz tests of the webhook's ``POST /validate`` (issue 19): hostile AdmissionReview bodies.

In-process against the real ASGI app (tests/fuzz/admission.py; a small real-TLS smoke is in
tests/integration/test_webhook_fuzz_smoke.py). For every body the webhook must answer a well-formed
AdmissionReview with the request's uid and apiVersion, or a 4xx for a body that is not a review at all
(docs/webhook.md, "Malformed requests"); never a 500, never a traceback in the log, and never
``allowed: true`` for a review whose object it could not fully read, or that names an image the stand-in
verifier does not pass, in a namespace where the rule is enforce (the oracle: :func:`admission.expected`).

Bodies: real reviews (tests/assets/upstream/admission) and reviews generated for every workload kind
(init, regular and ephemeral containers, image volumes, the ``EphemeralContainers`` kind, UPDATE with an
``oldObject``), mutated at random depths (wrong types at every level, deletions, hostile strings, huge
numbers), whole-body attacks (deep nesting, non-UTF-8, UTF-16, NaN, duplicate keys, huge strings) and
byte-level damage.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import seeds
from tests.fuzz.admission import (
    DIGEST_A,
    IMAGES,
    NAMESPACES,
    SPEC_PATH,
    InProcessWebhook,
    Reply,
    expected,
)
from tests.fuzz.harness import CrashError
from tests.fuzz.strategies import (
    HOSTILE_STRINGS,
    byte_mutations,
    encode,
    json_values,
    mutated,
    other_type,
    raw_json_attacks,
)
from tests.fuzz.test_fuzz_cli import FUZZ

ADMISSION = seeds.UPSTREAM / "admission"
REAL_REVIEWS: list[Any] = [
    doc
    for doc in seeds.json_seeds(
        "admission/connaisseur-v3/*.json",
        "admission/connaisseur-v2-python/*.json",
        "admission/derived/*.json",
        "admission/k8s-api-roundtrip/admission.k8s.io.v1.AdmissionReview.json",
    )
    if isinstance(doc, dict)
]
REAL_BYTES = seeds.byte_seeds("admission/connaisseur-v3/*.json", "admission/derived/*.json")
VOLUME_SOURCES = ({"emptyDir": {}}, {"configMap": {"name": "x"}})


@pytest.fixture(scope="module")
def webhook() -> Iterator[InProcessWebhook]:
    """One app for the module (its cache fills up as it would in a cluster)."""
    hook = InProcessWebhook()
    capture = hook.capture()
    next(capture)
    try:
        yield hook
    finally:
        capture.close()
        hook.close()


# ------------------------------------------------------------------------------------ generated reviews


def _container(draw: st.DrawFn, i: int) -> dict[str, Any]:
    return {"name": f"c{i}", "image": draw(st.sampled_from(IMAGES))}


@st.composite
def pod_specs(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """A PodSpec (or, for EphemeralContainers, the object's own fields) with 0..3 images per list."""
    lists = (
        ("ephemeralContainers",)
        if kind == "EphemeralContainers"
        else ("initContainers", "containers", "ephemeralContainers")
    )
    spec: dict[str, Any] = {}
    n = 0
    for name in lists:
        if draw(st.booleans()) or name in ("containers", "ephemeralContainers"):
            count = draw(st.integers(0, 3))
            spec[name] = [_container(draw, n + j) for j in range(count)]
            n += count
    if kind != "EphemeralContainers" and draw(st.booleans()):
        volumes = []
        for j in range(draw(st.integers(1, 3))):
            source = (
                {"image": {"reference": draw(st.sampled_from(IMAGES)), "pullPolicy": "Always"}}
                if draw(st.booleans())
                else draw(st.sampled_from(VOLUME_SOURCES))
            )
            volumes.append({"name": f"v{j}", **source})
        spec["volumes"] = volumes
    return spec


def _wrap(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    obj: dict[str, Any] = spec
    for key in reversed(SPEC_PATH[kind]):
        obj = {key: obj}
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}, **obj}


@st.composite
def generated_reviews(draw: st.DrawFn) -> dict[str, Any]:
    """A review of any workload kind (or another kind), any operation, in any namespace."""
    kind = draw(st.sampled_from([*SPEC_PATH, "ConfigMap", "Scale", "pod"]))
    path_kind = kind if kind in SPEC_PATH else "Pod"
    obj = _wrap(path_kind, draw(pod_specs(path_kind)))
    operation = draw(st.sampled_from(("CREATE", "CREATE", "UPDATE", "UPDATE", "DELETE", "CONNECT")))
    request: dict[str, Any] = {
        "uid": draw(
            st.sampled_from(("705ab4f5-6393-11e8-b7cc-42010a800002", "u", "\ud800", "x" * 300))
        ),
        "kind": {"group": "", "version": "v1", "kind": kind},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "operation": operation,
        "namespace": draw(st.sampled_from(NAMESPACES)),
        "object": obj,
        "dryRun": draw(st.booleans()),
        "userInfo": {"username": "admin"},
    }
    if operation == "UPDATE":
        request["oldObject"] = draw(
            st.one_of(st.just(obj), st.builds(lambda s: _wrap(path_kind, s), pod_specs(path_kind)))
        )
    if kind == "EphemeralContainers" or (kind == "Pod" and draw(st.booleans())):
        request["subResource"] = "ephemeralcontainers"
    version = draw(st.sampled_from(("admission.k8s.io/v1", "admission.k8s.io/v1beta1")))
    return {"apiVersion": version, "kind": "AdmissionReview", "request": request}


ENVELOPE_FIELDS = (
    "uid",
    "kind",
    "operation",
    "object",
    "oldObject",
    "dryRun",
    "namespace",
    "resource",
    "subResource",
    "userInfo",
    "name",
)


@st.composite
def envelope_mutations(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with one to three of its envelope's fields (or the review's own) deleted, of another type or
    replaced by any JSON value."""
    doc = json.loads(json.dumps(doc))
    for _ in range(draw(st.integers(1, 3))):
        top = draw(st.integers(0, 5)) == 0
        node = doc if top or not isinstance(doc.get("request"), dict) else doc["request"]
        key = draw(st.sampled_from(("apiVersion", "kind", "request") if top else ENVELOPE_FIELDS))
        action = draw(st.sampled_from(("delete", "type", "value", "value")))
        if action == "delete":
            node.pop(key, None)
        elif action == "type" and key in node:
            node[key] = other_type(node[key])
        else:
            node[key] = draw(json_values)
    return doc


def _big_string(doc: dict[str, Any]) -> dict[str, Any]:
    """A review made large by one annotation (real large reviews are large because of strings)."""
    request = doc.get("request")
    obj = request.get("object") if isinstance(request, dict) else None
    if isinstance(obj, dict):
        obj.setdefault("metadata", {})
        if isinstance(obj["metadata"], dict):
            obj["metadata"]["annotations"] = {"big": "x" * 300_000}
    return doc


def review_bodies() -> st.SearchStrategy[bytes]:
    """The bodies the webhook fuzzer sends (see the module docstring)."""
    generated = generated_reviews()
    return st.one_of(
        generated.map(encode),
        generated.flatmap(mutated).map(encode),
        generated.flatmap(envelope_mutations).map(encode),
        st.sampled_from(REAL_REVIEWS).flatmap(mutated).map(encode),
        st.sampled_from(REAL_REVIEWS).map(encode),
        generated.map(_big_string).map(encode),
        st.sampled_from(REAL_BYTES).flatmap(byte_mutations),
        raw_json_attacks(),
        _raw_review_attacks(),
    )


@st.composite
def _raw_review_attacks(draw: st.DrawFn) -> bytes:
    """Whole reviews attacking the JSON layer: deep nesting just under the parser's limit in every field,
    duplicate keys, a huge value where a string belongs, invalid UTF-8 inside a string."""
    review = draw(generated_reviews())
    text = encode(review).decode("ascii")
    kind = draw(st.sampled_from(("deep", "dup-uid", "dup-image", "bad-utf8", "huge", "hostile")))
    if kind == "deep":
        depth = draw(st.sampled_from((100, 900, 990, 1200)))
        field = draw(st.sampled_from(('"operation"', '"namespace"', '"uid"', '"kind"', '"dryRun"')))
        nested = "[" * depth + "]" * depth
        return text.replace(field + ": ", field + ": " + nested + ', "x": ', 1).encode()
    if kind == "dup-uid":
        return text.replace('"request": {', '"request": {"uid": "first", ', 1).encode()
    if kind == "dup-image":
        return text.replace(
            '"image": ', f'"image": "ghcr.io/acme/app@{DIGEST_A}", "image": ', 1
        ).encode()
    if kind == "bad-utf8":
        return text.replace('"namespace": "', '"namespace": "\xff', 1).encode("latin-1")
    if kind == "huge":
        return text.replace(
            '"operation": ', '"operation": "' + "C" * 500_000 + '", "x": ', 1
        ).encode()
    value = draw(st.sampled_from(HOSTILE_STRINGS))
    return text.replace('"namespace": ', f'"namespace": {json.dumps(value)}, "x": ', 1).encode()


# ------------------------------------------------------------------------------------------ property


def check_answer(
    body: bytes,
    reply: Reply,
    records: list[logging.LogRecord],
    decision_lines: list[bytes] | None = None,
) -> None:
    """Raise CrashError unless ``reply`` keeps the webhook's promise for ``body`` (module docstring); with
    ``decision_lines`` (the decision log's new lines) also that the decision was logged, as readable JSON."""
    want = expected(body)
    broken = [r for r in records if r.exc_info or r.levelno >= logging.ERROR]
    if broken:
        record = broken[0]
        raise CrashError(f"logged {record.levelname} {record.getMessage()!r} with a traceback")
    if reply.status != 200:
        if want.review or not 400 <= reply.status < 500:
            raise CrashError(f"HTTP {reply.status} ({want.why}): {reply.body[:300]!r}")
        return
    if not want.review:
        raise CrashError(f"HTTP 200 for a body that is not a review ({want.why})")
    answer = json.loads(reply.body)
    response = answer.get("response") if isinstance(answer, dict) else None
    if (
        not isinstance(response, dict)
        or answer.get("kind") != "AdmissionReview"
        or answer.get("apiVersion") != want.api_version
        or response.get("uid") != want.uid
        or not isinstance(response.get("allowed"), bool)
    ):
        raise CrashError(f"an answer the apiserver rejects: {reply.body[:500]!r}")
    if response["allowed"] and not want.may_allow:
        raise CrashError(f"allowed: true although {want.why}")
    if decision_lines is not None:
        _check_decision_log(decision_lines, want.logged, response["allowed"])
    if len(reply.body) > 64 * 1024 + 6 * len(want.uid):  # the uid is echoed, escaped
        raise CrashError(f"an answer of {len(reply.body)} bytes")


def _check_decision_log(lines: list[bytes], due: bool, allowed: bool) -> None:
    """At most one record per review, as strict UTF-8 JSON, with the answer's ``allowed``; one when due."""
    if len(lines) > 1 or (due and not lines):
        raise CrashError(f"{len(lines)} decision records for one review (due: {due})")
    for line in lines:
        try:
            record = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError) as exc:
            raise CrashError(f"an unreadable decision record: {line[:300]!r}") from exc
        if record.get("allowed") is not allowed:
            raise CrashError(f"decision record says allowed={record.get('allowed')!r}")


@FUZZ
@given(body=review_bodies(), chunks=st.sampled_from((1, 1, 3)))
def test_validate(webhook: InProcessWebhook, body: bytes, chunks: int) -> None:
    """Every body: a well-formed answer with the uid, or a 4xx; never a traceback; never a wrong allow; the
    decision logged."""
    webhook.records.clear()
    before = len(webhook.decision_lines())
    reply = webhook.post(body, chunks=chunks)
    check_answer(body, reply, webhook.records, webhook.decision_lines()[before:])


@FUZZ
@given(
    content_type=st.sampled_from(
        (b"application/json; charset=utf-8", b"APPLICATION/JSON", b"text/plain", b"", b"\xff")
    ),
    query=st.sampled_from(
        (b"", b"timeout=0s", b"timeout=-1s", b"timeout=99999m", b"timeout=%ff", b"timeout=1e9s")
    ),
    doc=generated_reviews(),
    content_length=st.sampled_from(
        (
            None,
            None,
            b"",
            b"-1",
            b" 1",
            b"1e3",
            "\u00b2".encode("latin-1"),
            b"9" * 5000,
            b"99999999",
        )
    ),
)
def test_validate_request_envelope(
    webhook: InProcessWebhook,
    content_type: bytes,
    query: bytes,
    doc: dict[str, Any],
    content_length: bytes | None,
) -> None:
    """Odd content types, ``Content-Length`` and ``?timeout=`` values: the same promise (a wrong content type
    or length is a 400, without a traceback)."""
    webhook.records.clear()
    body = encode(doc)
    reply = webhook.post(
        body, content_type=content_type, query=query, content_length=content_length
    )
    if (
        content_length is not None
        or content_type.split(b";")[0].strip().lower() != b"application/json"
    ):
        assert reply.status == 400
        check_answer(b"", reply, webhook.records)  # no traceback in the log
        return
    check_answer(body, reply, webhook.records)
