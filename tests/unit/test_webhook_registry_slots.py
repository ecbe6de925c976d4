"""Per-registry bound on verifications in flight (``max_lookups_per_registry``): waiting lookups start in
arrival order, other registries are not held up, and a lookup that waits past its deadline is denied.

The verifier is an injected coroutine that records when each lookup runs (the registry itself plays no part
in the bound, which is decided before any lookup starts).
"""

from __future__ import annotations

import asyncio

from tests.unit.test_admission import pod_review
from verifier.admission.decider import AdmissionDecider, WebhookConfig
from verifier.admission.review import Outcome, parse_review
from verifier.models import CheckResult


def _image(registry: str, n: int) -> str:
    return f"{registry}/acme/app@sha256:{n:064x}"


class Recorder:
    """Async verifier: every lookup waits until released; tracks order and peak concurrency per registry."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.running: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.release = asyncio.Event()

    async def __call__(self, ref: str) -> CheckResult:
        host = ref.split("/", 1)[0]
        self.started.append(ref)
        self.running[host] = self.running.get(host, 0) + 1
        self.peak[host] = max(self.peak.get(host, 0), self.running[host])
        try:
            await asyncio.sleep(0)  # always yield, so concurrent lookups overlap
            await self.release.wait()
        finally:
            self.running[host] -= 1
        return CheckResult(
            check="signature", subject=ref, verdict="pass", facts={"count": 1, "failed": 0}
        )


def test_lookups_per_registry_are_bounded_and_start_in_arrival_order() -> None:
    async def scenario() -> tuple[Recorder, list[Outcome], list[str]]:
        rec = Recorder()
        decider = AdmissionDecider(WebhookConfig(max_lookups_per_registry=2), rec)
        images = [_image("ghcr.io", i) for i in range(6)]
        tasks = []
        for i, image in enumerate(images):
            tasks.append(asyncio.create_task(decider.admit(parse_review(pod_review(image)), 5.0)))
            await asyncio.sleep(0.01)  # arrival order
            if i == 3:
                # Another registry is not held up by ghcr.io's full slots.
                other = _image("quay.io", 99)
                tasks.append(
                    asyncio.create_task(decider.admit(parse_review(pod_review(other)), 5.0))
                )
                await asyncio.sleep(0.01)
                assert other in rec.started
        assert rec.running["ghcr.io"] == 2
        rec.release.set()
        outs = list(await asyncio.gather(*tasks))
        decider.close()
        return rec, outs, images

    rec, outs, images = asyncio.run(scenario())
    assert all(o.allowed for o in outs)
    assert rec.peak["ghcr.io"] == 2
    assert [r for r in rec.started if r.startswith("ghcr.io")] == images


def test_waiting_past_the_deadline_for_a_slot_denies() -> None:
    async def scenario() -> tuple[Outcome, Outcome]:
        rec = Recorder()
        decider = AdmissionDecider(
            WebhookConfig(
                max_lookups_per_registry=1, verify_timeout_seconds=0.2, failure_ttl_seconds=0
            ),
            rec,
        )
        first = asyncio.create_task(
            decider.admit(parse_review(pod_review(_image("ghcr.io", 1))), 5.0)
        )
        await asyncio.sleep(0.01)
        second = await decider.admit(parse_review(pod_review(_image("ghcr.io", 2))), 5.0)
        rec.release.set()
        out = await first
        decider.close()
        return out, second

    first, second = asyncio.run(scenario())
    assert second.allowed is False and "verification timed out" in second.message
    # The first lookup also ran past verify_timeout_seconds while holding its slot: denied, not hung.
    assert first.allowed is False and "verification timed out" in first.message


def test_slots_work_across_event_loops() -> None:
    """A decider used from a new event loop (as asyncio.run per call does) gets fresh semaphores."""
    decider = AdmissionDecider(WebhookConfig(max_lookups_per_registry=1), Recorder())

    async def one(n: int) -> list[Outcome]:
        rec = decider._verify
        assert isinstance(rec, Recorder)
        rec.release = asyncio.Event()
        rec.release.set()
        reqs = [
            decider.admit(parse_review(pod_review(_image("ghcr.io", n * 10 + i))), 5.0)
            for i in range(3)
        ]
        return list(await asyncio.gather(*reqs))

    try:
        assert [o.allowed for o in asyncio.run(one(1))] == [True, True, True]
        assert [o.allowed for o in asyncio.run(one(2))] == [True, True, True]
    finally:
        decider.close()
