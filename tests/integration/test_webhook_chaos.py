"""Chaos: the real webhook over TLS, the real registry (Debian docker-registry) as the good registry, and the
same registry behind :class:`FaultProxy` as the bad one (dripping answers, stalled, or reset connections).

While 40 reviews naming unseen images on the bad registry are in flight, reviews for signed images on the
good registry (each unseen, so each needs a real lookup) must be admitted, each within its review's
deadline, and ``/readyz`` must stay ready (images can still be looked up). The bad images are all denied
within their deadline. Images are signed here with a THROWAWAY key.

Before the bulkheads and deadlines (issue 19) the same attack made the webhook deny every unseen image from
every registry for minutes, even after the attacker stopped.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import LocalRegistry, registry  # noqa: F401 - fixture
from tests.integration.fault_proxy import FaultProxy
from tests.integration.test_webhook_registry import _config, _key, _pod, _sign
from tests.integration.webhook_support import ApiserverClient, Pki, ServerThread, make_pki
from verifier.adapters.commands.webhook import build_decider
from verifier.adapters.webhook import create_app

pytestmark = pytest.mark.registry

ATTACKERS = 40
GOOD_PER_RUN = 2
BAD_BUDGET = "5s"
GOOD_BUDGET = 10.0
CASES = [("drip", True), ("drip", False), ("stall", True), ("stall", False), ("reset", True)]


class Setup:
    """The good registry's signed images and two webhooks: with the circuit breaker and with it switched off
    (the bulkheads and deadlines alone must then keep the good registry served). Each test puts its own
    fault proxy, i.e. a new bad registry host, in front of the same registry."""

    def __init__(self, reg: LocalRegistry, directory: Path) -> None:
        key = _key(directory, "good")
        repo = reg.new_repo("chaos")
        self.good: list[str] = []
        for i in range(GOOD_PER_RUN * 2 * (len(CASES) + 1)):  # unseen images for every run
            digest, _ = reg.push_image(repo, f"v{i}")
            _sign(reg, repo, digest, key)
            self.good.append(reg.ref(repo, digest))
        host, port = reg.host.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.repo = repo
        self.pki: Pki = make_pki(directory)
        self.servers: dict[bool, ServerThread] = {}
        for breaker in (True, False):
            config = _config(directory, verify_timeout=4.0)
            if not breaker:
                config.write_text(config.read_text() + "  breaker_failures: 1000000\n")
            decider = build_decider(config)
            self.servers[breaker] = ServerThread(create_app(decider), self.pki).start()

    def unseen(self) -> list[str]:
        """Signed images no webhook has looked up yet."""
        taken, self.good = self.good[:GOOD_PER_RUN], self.good[GOOD_PER_RUN:]
        return taken

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="module")
def chaos(registry: LocalRegistry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    setup = Setup(registry, tmp_path_factory.mktemp("chaos"))
    try:
        yield setup
    finally:
        setup.close()


def _timed_review(client: ApiserverClient, body: bytes, budget: str) -> tuple[Any, float]:
    start = time.monotonic()
    answer = client.review(body, timeout_param=budget)
    return answer, time.monotonic() - start


def _assert_admitted(answers: list[tuple[Any, float]]) -> None:
    for answer, elapsed in answers:
        assert answer.response is not None and answer.response["allowed"] is True, answer
        assert elapsed < GOOD_BUDGET, elapsed


def test_control_good_images_are_admitted_without_an_attacker(chaos: Setup) -> None:
    server = chaos.servers[True]
    with ApiserverClient(server.port, chaos.pki.ca_file, timeout=GOOD_BUDGET) as c:
        _assert_admitted(
            [
                _timed_review(c, _pod([image], uid=f"control-{i}"), "10s")
                for i, image in enumerate(chaos.unseen())
            ]
        )


@pytest.mark.parametrize(("mode", "breaker"), CASES)
def test_good_images_are_admitted_during_and_after_an_attack_on_another_registry(
    chaos: Setup, mode: Any, breaker: bool
) -> None:
    server = chaos.servers[breaker]
    with (
        FaultProxy(chaos.upstream, mode=mode, drip_interval=0.5) as proxy,
        ApiserverClient(server.port, chaos.pki.ca_file, timeout=GOOD_BUDGET) as c,
        concurrent.futures.ThreadPoolExecutor(ATTACKERS) as pool,
    ):
        bad = [f"{proxy.host}/{chaos.repo}@sha256:{i:064x}" for i in range(ATTACKERS)]
        attack = [
            pool.submit(_timed_review, c, _pod([image], uid=f"{mode}-bad-{i}"), BAD_BUDGET)
            for i, image in enumerate(bad)
        ]
        time.sleep(0.5)  # the attack is in flight: every bad lookup has started or waits for a slot
        in_flight = sum(not f.done() for f in attack)
        ready_during = c.get("/readyz")
        during = [
            _timed_review(c, _pod([image], uid=f"{mode}-good-{i}"), "10s")
            for i, image in enumerate(chaos.unseen())
        ]
        denied = [f.result(timeout=60) for f in attack]
        # The attack is over (every bad review answered) but the bad registry still drips or stalls: the
        # threads of the abandoned lookups must have come back.
        after = [
            _timed_review(c, _pod([image], uid=f"{mode}-after-{i}"), "10s")
            for i, image in enumerate(chaos.unseen())
        ]
        ready_after = c.get("/readyz")
        asked = proxy.accepted
    assert asked >= 1  # the bad registry was really asked
    if mode != "reset":  # resets fail at once: nothing stays in flight
        assert in_flight >= ATTACKERS * 3 // 4, in_flight
    assert ready_during.status_code == 200, ready_during.text
    assert ready_after.status_code == 200, ready_after.text
    _assert_admitted(during)
    _assert_admitted(after)
    for answer, elapsed in denied:
        assert answer.response is not None and answer.response["allowed"] is False, answer
        assert elapsed < 5.0 + 1.0, (
            elapsed
        )  # the review's own deadline (plus the client's overhead)
