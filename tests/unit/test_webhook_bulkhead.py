"""Bulkheads between registries in the webhook: a slot is held until the lookup's thread is really done,
other registries keep their threads, a failing registry's circuit opens (and closes again after a good
probe), waits never outlive the deadline, and ``health()`` (``/readyz``) says when no image can be looked up.

The verifier is a plain sync function standing in for the registry lookup: these properties are about
threads, slots and time, which a function that blocks on an Event shows exactly (the real registry behind
a fault proxy is in tests/integration/test_webhook_chaos.py).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from tests.unit.test_admission import admit, pod_review
from verifier.admission.bulkhead import Bulkhead, RegistryCircuitOpen
from verifier.admission.decider import AdmissionDecider, WebhookConfig
from verifier.errors import NetworkError
from verifier.models import CheckResult
from verifier.sources.deadline import current


def _image(registry: str, n: int) -> str:
    return f"{registry}/acme/app@sha256:{n:064x}"


def _pass(ref: str) -> CheckResult:
    return CheckResult(
        check="signature", subject=ref, verdict="pass", facts={"count": 1, "failed": 0}
    )


def _fail(ref: str) -> CheckResult:
    return CheckResult(
        check="signature", subject=ref, verdict="fail", facts={"count": 1, "failed": 1}
    )


class Registries:
    """A sync verifier: images on ``slow.example`` block until released; every call is recorded."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.running: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.calls: list[str] = []
        self.deadlines: list[float] = []

    def __call__(self, ref: str) -> CheckResult:
        host = ref.split("/", 1)[0]
        deadline = current()
        with self.lock:
            self.calls.append(ref)
            self.deadlines.append(deadline.remaining() if deadline else -1.0)
            self.running[host] = self.running.get(host, 0) + 1
            self.peak[host] = max(self.peak.get(host, 0), self.running[host])
        try:
            if host == "slow.example":
                self.release.wait(10)
            return _pass(ref)
        finally:
            with self.lock:
                self.running[host] -= 1


def _config(**kwargs: Any) -> WebhookConfig:
    return WebhookConfig(failure_ttl_seconds=0, **kwargs)


def test_an_abandoned_lookup_keeps_its_slot_until_its_thread_is_done() -> None:
    """The lookup times out (deny) while its thread still waits on the registry: the next lookup on that
    registry must not start a second thread beside it."""
    regs = Registries()
    decider = AdmissionDecider(
        _config(max_lookups_per_registry=1, verify_timeout_seconds=0.3), regs
    )
    try:
        first = admit(decider, pod_review(_image("slow.example", 1)), budget=2.0)
        second = admit(decider, pod_review(_image("slow.example", 2)), budget=0.5)
        assert regs.calls == [_image("slow.example", 1)]  # the second never got a thread
        assert regs.peak["slow.example"] == 1
        regs.release.set()
        time.sleep(0.2)
        third = admit(decider, pod_review(_image("slow.example", 3)), budget=2.0)
    finally:
        regs.release.set()
        decider.close()
    assert first.allowed is False and "verification timed out" in first.message
    assert second.allowed is False
    assert third.allowed is True, third.message


def test_a_slow_registry_cannot_take_the_threads_of_another() -> None:
    regs = Registries()
    decider = AdmissionDecider(
        _config(max_concurrent_lookups=4, max_lookups_per_registry=2, verify_timeout_seconds=0.3),
        regs,
    )

    async def scenario() -> list[Any]:
        slow = [
            asyncio.create_task(decider.admit(_review(_image("slow.example", i)), 0.5))
            for i in range(20)
        ]
        await asyncio.sleep(0.05)
        good = [await decider.admit(_review(_image("good.example", i)), 2.0) for i in range(6)]
        await asyncio.gather(*slow)
        return good

    try:
        good = asyncio.run(scenario())
    finally:
        regs.release.set()
        decider.close()
    assert all(o.allowed for o in good), [o.message for o in good]
    assert regs.peak["slow.example"] == 2


def _review(image: str) -> Any:
    from verifier.admission.review import parse_review

    return parse_review(pod_review(image))


def test_the_lookup_runs_under_its_deadline() -> None:
    regs = Registries()
    decider = AdmissionDecider(_config(verify_timeout_seconds=4.0), regs)
    try:
        assert admit(decider, pod_review(_image("good.example", 1))).allowed is True
    finally:
        decider.close()
    assert 0 < regs.deadlines[0] <= 4.0


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_failing_registry_opens_its_circuit_and_a_good_probe_closes_it() -> None:
    calls: list[str] = []
    down = {"value": True}

    def verify(ref: str) -> CheckResult:
        calls.append(ref)
        if ref.startswith("down.example") and down["value"]:
            raise NetworkError("registry down.example is unreachable: connection refused")
        return _pass(ref)

    clock = Clock()
    decider = AdmissionDecider(
        _config(breaker_failures=3, breaker_cooldown_seconds=30), verify, clock=clock
    )
    try:
        for i in range(3):
            assert admit(decider, pod_review(_image("down.example", i))).allowed is False
        assert len(calls) == 3
        fast = admit(decider, pod_review(_image("down.example", 10)))
        assert len(calls) == 3  # not asked: the circuit is open
        assert "registry down.example failed 3 lookups in a row" in fast.message
        assert fast.allowed is False
        # Another registry is not affected.
        assert admit(decider, pod_review(_image("up.example", 1))).allowed is True
        ready, why = decider.health()
        assert ready and "down.example" in why
        # After the cooldown one probe is let through; a failure opens the circuit again.
        clock.now += 31
        assert admit(decider, pod_review(_image("down.example", 11))).allowed is False
        assert calls[-1] == _image("down.example", 11)
        assert admit(decider, pod_review(_image("down.example", 12))).allowed is False
        assert calls[-1] == _image("down.example", 11)
        # The registry recovers: the next probe closes the circuit.
        down["value"] = False
        clock.now += 31
        assert admit(decider, pod_review(_image("down.example", 13))).allowed is True
        assert admit(decider, pod_review(_image("down.example", 14))).allowed is True
        assert decider.health() == (True, "ready")
    finally:
        decider.close()


def test_denied_images_do_not_open_the_circuit() -> None:
    """An unsigned image is an answer from a healthy registry, however many arrive in a row."""
    calls: list[str] = []

    def verify(ref: str) -> CheckResult:
        calls.append(ref)
        return _fail(ref)

    decider = AdmissionDecider(_config(breaker_failures=2), verify)
    try:
        for i in range(5):
            assert admit(decider, pod_review(_image("ghcr.io", i))).allowed is False
    finally:
        decider.close()
    assert len(calls) == 5


def test_readyz_health_is_false_when_lookups_cannot_get_a_thread() -> None:
    regs = Registries()
    clock = Clock()
    decider = AdmissionDecider(
        _config(
            max_concurrent_lookups=1,
            max_lookups_per_registry=4,
            verify_timeout_seconds=0.3,
            default_timeout_seconds=10,
        ),
        regs,
        clock=clock,
    )

    async def scenario() -> tuple[tuple[bool, str], tuple[bool, str]]:
        tasks = [
            asyncio.create_task(decider.admit(_review(_image("slow.example", i)), 5.0))
            for i in range(2)
        ]
        await asyncio.sleep(0.1)  # one lookup runs (blocked), one waits for the only thread
        fresh = decider.health()
        clock.now += 11  # no lookup started or ended for longer than a review's budget
        stuck = decider.health()
        regs.release.set()
        await asyncio.gather(*tasks)
        return fresh, stuck

    try:
        fresh, stuck = asyncio.run(scenario())
    finally:
        regs.release.set()
        decider.close()
    assert fresh == (True, "ready")
    assert stuck[0] is False and "cannot look up images" in stuck[1]
    assert decider.health() == (False, "closed")


def test_bulkhead_waiters_start_in_arrival_order_and_leave_the_queue_at_their_deadline() -> None:
    bulkhead = Bulkhead(limit=1, failures=5, cooldown=30)
    order: list[int] = []

    async def lookup(n: int, hold: float) -> None:
        await bulkhead.acquire("r")
        order.append(n)
        try:
            await asyncio.sleep(hold)
        finally:
            bulkhead.release("r", True)

    async def scenario() -> None:
        first = asyncio.create_task(lookup(0, 0.2))
        await asyncio.sleep(0.01)
        impatient = asyncio.create_task(asyncio.wait_for(lookup(1, 0), 0.05))
        rest = [asyncio.create_task(lookup(n, 0)) for n in (2, 3)]
        with pytest.raises(TimeoutError):
            await impatient
        await asyncio.gather(first, *rest)

    asyncio.run(scenario())
    assert order == [0, 2, 3]
    assert bulkhead.states() == []  # nothing held, nothing remembered


def test_bulkhead_release_from_a_worker_thread_wakes_the_next_waiter() -> None:
    bulkhead = Bulkhead(limit=1, failures=5, cooldown=30)

    async def scenario() -> bool:
        await bulkhead.acquire("r")
        threading.Timer(0.05, bulkhead.release, args=("r", True)).start()
        await asyncio.wait_for(bulkhead.acquire("r"), 2.0)
        bulkhead.release("r", True)
        return True

    assert asyncio.run(scenario()) is True


def test_bulkhead_open_circuit_raises_at_once() -> None:
    clock = Clock()
    bulkhead = Bulkhead(limit=2, failures=2, cooldown=10, clock=clock)

    async def fail_once() -> None:
        await bulkhead.acquire("r")
        bulkhead.release("r", False)

    async def scenario() -> None:
        await fail_once()
        await fail_once()
        with pytest.raises(RegistryCircuitOpen, match="not asked again for 10s"):
            await bulkhead.acquire("r")

    asyncio.run(scenario())
    (state,) = bulkhead.states()
    assert state.open and state.failures == 2 and state.running == 0


def test_bulkhead_memory_is_bounded_by_forgetting_idle_registries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Hosts come from pod specs: many distinct failing registries must not grow the bulkhead without end."""
    import verifier.admission.bulkhead as bulkhead_module

    monkeypatch.setattr(bulkhead_module, "MAX_REGISTRIES", 10)
    bulkhead = Bulkhead(limit=1, failures=3, cooldown=30)

    async def fail(host: str) -> None:
        await bulkhead.acquire(host)
        bulkhead.release(host, False)

    async def scenario() -> None:
        await bulkhead.acquire("busy.example")  # held: never forgotten
        for i in range(100):
            await fail(f"r{i}.example")
        assert "busy.example" in {state.host for state in bulkhead.states()}
        bulkhead.release("busy.example", True)

    asyncio.run(scenario())
    hosts = {state.host for state in bulkhead.states()}
    assert len(hosts) <= 10
    assert "r99.example" in hosts  # the most recent failures are remembered
