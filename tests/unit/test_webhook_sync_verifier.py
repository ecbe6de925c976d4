"""AdmissionDecider with a SYNC verifier (what ``verifier webhook`` injects): verification and the policy
decision run in one worker-thread hop, and every failure on that path still denies.

The verifier here is a plain function standing in for the registry lookup (the real one is exercised over
TLS against the real registry in tests/integration/test_webhook_registry.py).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from tests.unit.test_admission import BAD, GOOD, admit, pod_review
from verifier.admission.decider import AdmissionDecider, WebhookConfig
from verifier.errors import NetworkError
from verifier.models import CheckResult, Decision
from verifier.pipeline import decide


def _result(ref: str, verdict: str) -> CheckResult:
    return CheckResult(
        check="signature", subject=ref, verdict=verdict, facts={"count": 1, "failed": 0}
    )


def test_verify_and_decide_run_in_the_same_worker_thread() -> None:
    threads: dict[str, str] = {}

    def verify(ref: str) -> CheckResult:
        threads["verify"] = threading.current_thread().name
        return _result(ref, "pass" if ref == GOOD else "fail")

    def recording_decide(*args: Any, **kwargs: Any) -> tuple[Decision, dict[str, Any]]:
        threads["decide"] = threading.current_thread().name
        return decide(*args, **kwargs)

    decider = AdmissionDecider(WebhookConfig(), verify, decide_fn=recording_decide)
    try:
        assert admit(decider, pod_review(GOOD)).allowed is True
        assert admit(decider, pod_review(BAD)).allowed is False
    finally:
        decider.close()
    assert threads["verify"].startswith("verifier-lookup")
    assert threads["decide"] == threads["verify"]


def test_sync_verifier_errors_deny() -> None:
    def network_down(_ref: str) -> CheckResult:
        raise NetworkError("registry ghcr.io is unreachable")

    def crashes(_ref: str) -> CheckResult:
        raise ZeroDivisionError("boom")

    def junk(_ref: str) -> Any:
        return None

    for fn, fragment in (
        (network_down, "could not be verified (NetworkError"),
        (crashes, "unknown error"),
        (junk, "unknown error"),
    ):
        decider = AdmissionDecider(WebhookConfig(failure_ttl_seconds=0), fn)
        try:
            out = admit(decider, pod_review(GOOD))
        finally:
            decider.close()
        assert out.allowed is False and fragment in out.message, (fn.__name__, out.message)


def test_policy_failure_after_a_sync_verify_denies() -> None:
    def failing_decide(*_a: Any, **_k: Any) -> tuple[Decision, dict[str, Any]]:
        raise RuntimeError("policy engine broke")

    decider = AdmissionDecider(
        WebhookConfig(), lambda ref: _result(ref, "pass"), decide_fn=failing_decide
    )
    try:
        out = admit(decider, pod_review(GOOD))
    finally:
        decider.close()
    assert out.allowed is False and "unknown error" in out.message


def test_slow_sync_verifier_times_out_and_denies() -> None:
    release = threading.Event()

    def hangs(ref: str) -> CheckResult:
        release.wait(5)
        return _result(ref, "pass")

    decider = AdmissionDecider(
        WebhookConfig(verify_timeout_seconds=0.2, failure_ttl_seconds=0), hangs
    )
    try:
        out = admit(decider, pod_review(GOOD), budget=5.0)
    finally:
        release.set()
        decider.close()
    assert out.allowed is False
    assert "verification timed out" in out.message


def test_sync_verifier_returning_an_awaitable_is_awaited() -> None:
    async def later(ref: str) -> CheckResult:
        await asyncio.sleep(0)
        return _result(ref, "pass" if ref == GOOD else "fail")

    decider = AdmissionDecider(WebhookConfig(), lambda ref: later(ref))
    try:
        assert admit(decider, pod_review(GOOD)).allowed is True
        assert admit(decider, pod_review(BAD)).allowed is False
    finally:
        decider.close()


def test_close_calls_on_close_once_lookups_are_stopped() -> None:
    closed: list[float] = []
    decider = AdmissionDecider(
        WebhookConfig(),
        lambda ref: _result(ref, "pass"),
        on_close=lambda: closed.append(time.monotonic()),
    )
    assert admit(decider, pod_review(GOOD)).allowed is True
    assert closed == []
    decider.close()
    assert len(closed) == 1


def test_prime_runs_the_warm_up_once_in_every_lookup_thread() -> None:
    """Start-up loads the policy bundle into every lookup thread's engine, so the first burst of unseen
    images does not; the lookups then run on exactly those threads."""
    warmed: list[str] = []
    lock = threading.Lock()

    def warm() -> None:
        with lock:
            warmed.append(threading.current_thread().name)

    seen: set[str] = set()

    def verify(ref: str) -> CheckResult:
        seen.add(threading.current_thread().name)
        return _result(ref, "pass")

    decider = AdmissionDecider(WebhookConfig(max_concurrent_lookups=4), verify)
    try:
        decider.prime(warm)
        assert len(warmed) == 4 and len(set(warmed)) == 4
        assert admit(decider, pod_review(GOOD)).allowed is True
        assert seen <= set(warmed)
    finally:
        decider.close()


def test_prime_raises_what_the_warm_up_raises() -> None:
    """A broken policy bundle found while priming keeps the server from becoming ready."""

    def broken() -> None:
        raise ValueError("invalid Rego")

    decider = AdmissionDecider(
        WebhookConfig(max_concurrent_lookups=2), lambda ref: _result(ref, "pass")
    )
    try:
        with pytest.raises(ValueError, match="invalid Rego"):
            decider.prime(broken)
    finally:
        decider.close()
