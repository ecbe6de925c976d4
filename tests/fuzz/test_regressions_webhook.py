"""What the AdmissionReview fuzzer (test_fuzz_admission.py) found in the webhook, one reproducer each,
through the real ASGI app."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.fuzz.admission import InProcessWebhook

REVIEW = {
    "apiVersion": "admission.k8s.io/v1",
    "kind": "AdmissionReview",
    "request": {
        "uid": "u-1",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "operation": "CREATE",
        "namespace": "default",
        "object": {"spec": {"containers": [{"name": "a", "image": "nginx"}]}},
    },
}


@pytest.fixture(scope="module")
def webhook() -> Iterator[InProcessWebhook]:
    hook = InProcessWebhook()
    capture = hook.capture()
    next(capture)
    try:
        yield hook
    finally:
        capture.close()
        hook.close()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("operation", "C" * 500_000),
        ("operation", [[["x"] * 1000] * 100]),
        ("kind", "K" * 500_000),
        ("apiVersion", "v" * 500_000),
    ],
    ids=["operation-500k", "operation-array", "kind-500k", "apiVersion-500k"],
)
def test_a_huge_value_is_not_echoed_back(
    webhook: InProcessWebhook, field: str, value: object
) -> None:
    """Was: the value's repr in the answer's message and in the log line (a 500 KB answer for a 500 KB
    ``operation``). Now at most 64 characters of it, or its JSON type."""
    review = json.loads(json.dumps(REVIEW))
    (review["request"] if field == "operation" else review)[field] = value
    webhook.records.clear()
    reply = webhook.post(json.dumps(review).encode())
    assert len(reply.body) < 1000
    assert all(len(r.getMessage()) < 1000 for r in webhook.records)
    if field == "operation":
        response = json.loads(reply.body)["response"]
        assert response["uid"] == "u-1"
        assert response["allowed"] is False
        shown = "'" + "C" * 64 + "'…" if isinstance(value, str) else "an array"
        assert f"request.operation {shown} is not one of" in response["status"]["message"]
    else:
        assert reply.status == 400


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(REVIEW)
        .replace('"default"', '"def\\udc80ault"')
        .encode()
        .replace(b"\\udc80", b"\xed\xb2\x80"),
        json.dumps(REVIEW).encode("utf-16"),
        json.dumps(REVIEW).encode("utf-32"),
        json.dumps(REVIEW)
        .replace('"default"', '"d\\u00e9fault"')
        .encode()
        .replace(b"\\u00e9", b"\xe9"),
    ],
    ids=["utf8-encoded-surrogate", "utf-16", "utf-32", "latin-1"],
)
def test_a_body_that_is_not_utf8_is_400(webhook: InProcessWebhook, body: bytes) -> None:
    """Was: answered as a review: ``json.loads`` takes bytes as UTF-16/32 and lets UTF-8-encoded
    surrogates through. JSON on the wire is UTF-8 (RFC 8259 §8.1); anything else is not a review."""
    reply = webhook.post(body)
    assert reply.status == 400
    assert json.loads(reply.body) == {"error": "body is not UTF-8"}


@pytest.mark.parametrize(
    "length", ["\u00b2".encode("latin-1"), b"9" * 5000], ids=["superscript-two", "5000-digits"]
)
def test_an_unreadable_content_length_is_400(webhook: InProcessWebhook, length: bytes) -> None:
    """Was: ValueError from int() (``"²".isdigit()`` is true; int() refuses over 4,300 digits), logged with a
    traceback and answered as an unknown error. uvicorn's httptools refuses both before the app, but the
    app does not rely on the server in front of it."""
    webhook.records.clear()
    reply = webhook.post(json.dumps(REVIEW).encode(), content_length=length)
    assert reply.status == 400
    assert json.loads(reply.body)["error"] in (
        "invalid Content-Length",
        "body larger than 2097152 bytes",
    )
    assert not [r for r in webhook.records if r.exc_info]
