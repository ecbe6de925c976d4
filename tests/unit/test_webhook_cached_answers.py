"""Answers from cached verdicts (``AdmissionDecider._admit_from_cache``): no await, the same answer.

Under load the webhook mostly sees images it verified a moment ago. Those requests are answered without a
task, timeout or event-loop round; this file shows that answer is exactly the one the full path gives, for
every mode and mix of verdicts, and that anything not cached (a tag, an expired entry, one unseen image among
cached ones) still takes the full path. The verifier is the unit tests' stand-in (FakeVerifier); the real
lookup is tested against the real registry in tests/integration/test_webhook_registry.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.unit.test_admission import BAD, DIGEST, GOOD, FakeVerifier, admit, pod_review
from verifier.admission.decider import AdmissionDecider, Mode, WebhookConfig, WebhookRule
from verifier.admission.review import parse_review

OTHER_GOOD = f"quay.io/acme/tool@{DIGEST}"
RULES = (
    WebhookRule(namespaces=("staging",), mode=Mode.WARN),
    WebhookRule(namespaces=("preview",), mode=Mode.AUDIT),
)


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, name: str, label: str) -> None:
        self.seen.append((name, label))


def _decider(events: Events | None = None, **config: Any) -> tuple[AdmissionDecider, FakeVerifier]:
    verifier = FakeVerifier({GOOD, OTHER_GOOD})
    decider = AdmissionDecider(WebhookConfig(rules=RULES, **config), verifier, events=events)
    return decider, verifier


@pytest.mark.parametrize("namespace", ["default", "staging", "preview", "kube-system"])
@pytest.mark.parametrize(
    "images", [(GOOD,), (BAD,), (GOOD, BAD), (GOOD, OTHER_GOOD), (BAD, GOOD, BAD)]
)
def test_cached_answer_equals_the_full_answer(namespace: str, images: tuple[str, ...]) -> None:
    decider, verifier = _decider(exempt_namespaces=("kube-system",))
    doc = pod_review(*images, namespace=namespace)
    full = admit(decider, doc)  # verifies and caches
    calls = len(verifier.calls)
    req = parse_review(doc)
    cached = decider._admit_from_cache(req)
    assert cached == full
    assert admit(decider, doc) == full and len(verifier.calls) == calls


def test_a_request_with_one_unseen_image_takes_the_full_path_and_counts_once() -> None:
    events = Events()
    decider, verifier = _decider(events)
    admit(decider, pod_review(GOOD))
    events.seen.clear()
    assert decider._admit_from_cache(parse_review(pod_review(GOOD, BAD))) is None
    assert events.seen == []  # a fall-back counts nothing itself...
    out = admit(decider, pod_review(GOOD, BAD))
    assert out.allowed is False and verifier.calls == [GOOD, BAD]
    # ...so the full path's count is the only one: one hit, one miss, one decision.
    assert sorted(events.seen) == [("cache", "hit"), ("cache", "miss"), ("decision", "denied")]
    events.seen.clear()
    admit(decider, pod_review(GOOD, BAD))
    assert sorted(events.seen) == [("cache", "hit"), ("cache", "hit"), ("decision", "denied")]


def test_expired_verdicts_and_tags_are_not_answered_from_the_cache() -> None:
    now = [0.0]
    verifier = FakeVerifier({GOOD})
    decider = AdmissionDecider(
        WebhookConfig(cache_ttl_seconds=60, require_digest=False),
        verifier,
        resolve_digest=lambda _ref: DIGEST,
        clock=lambda: now[0],
    )
    admit(decider, pod_review(GOOD))
    assert decider._admit_from_cache(parse_review(pod_review(GOOD))) is not None
    now[0] = 61
    assert decider._admit_from_cache(parse_review(pod_review(GOOD))) is None
    # A tag needs the registry to say which digest it is now: never answered from the cache.
    admit(decider, pod_review("ghcr.io/acme/app:v1"))
    assert decider._admit_from_cache(parse_review(pod_review("ghcr.io/acme/app:v1"))) is None


def test_a_policy_change_is_not_answered_with_old_verdicts() -> None:
    decider, _ = _decider()
    admit(decider, pod_review(GOOD))
    stricter = AdmissionDecider(WebhookConfig(rules=RULES, mode=Mode.WARN), FakeVerifier(set()))
    stricter.cache = decider.cache  # same entries, another policy version
    assert stricter._admit_from_cache(parse_review(pod_review(GOOD))) is None


def test_an_error_on_the_cached_path_falls_back_and_still_denies() -> None:
    decider, _ = _decider()
    admit(decider, pod_review(GOOD))

    def broken(*_args: Any) -> Any:
        raise RuntimeError("boom")

    decider.rule_for = broken  # type: ignore[method-assign]
    out = asyncio.run(decider.admit(parse_review(pod_review(GOOD)), 5.0))
    assert out.allowed is False and "unknown error" in out.message
