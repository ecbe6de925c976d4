"""Bulkheads between registries for the webhook's lookups: one slow or hostile registry costs its own lookups
and nothing else.

Per registry host (``host[:port]``):

- **Slots.** At most ``limit`` lookups run at once; more wait in arrival order (FIFO) until a slot frees or
  their deadline passes. A slot is held until the lookup's *work* has ended, not until its waiter gave up:
  a thread still blocked on the registry keeps its slot, so abandoned lookups cannot pile up threads
  behind the bound (their own I/O ends at the lookup's deadline, which then frees the slot).
- **Circuit breaker.** After ``failures`` lookups in a row fail on the network (no answer by the deadline,
  connection refused or reset, 429/5xx), the registry is not asked for ``cooldown`` seconds: its lookups
  fail at once (deny) and hold no thread. Then one probe lookup is let through; its success closes the
  breaker, its failure opens it again. Denials (unsigned, wrong signer) are answers, not failures.

Thread-safe: slots are taken on the event loop and given back from the worker thread that ran the lookup.

Example::

    bulkhead = Bulkhead(limit=8, failures=5, cooldown=30.0)
    await bulkhead.acquire("ghcr.io")      # may raise RegistryCircuitOpen
    try:
        ...
    finally:
        bulkhead.release("ghcr.io", healthy=True)
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from verifier.errors import SourceError

# Registries remembered at most (hosts come from pod specs: many distinct failing hosts must not grow memory
# without bound). Beyond it the oldest idle ones are forgotten, their failure counts with them.
MAX_REGISTRIES = 4096


class RegistryCircuitOpen(SourceError):  # noqa: N818 - a state, reported as the lookup's error
    """The registry failed too many lookups in a row; it is not asked until its cooldown ends."""

    def __init__(self, host: str, failures: int, retry_in: float) -> None:
        super().__init__(
            f"registry {host} failed {failures} lookups in a row; "
            f"not asked again for {max(retry_in, 0):.0f}s"
        )
        self.host = host


@dataclass
class _Waiter:
    future: asyncio.Future[None]
    probe: bool
    granted: bool = False


@dataclass
class _Registry:
    running: int = 0
    waiters: deque[_Waiter] = field(default_factory=deque)
    failures: int = 0  # network failures in a row
    open_until: float = 0.0
    probing: bool = False


@dataclass(frozen=True)
class RegistryState:
    """One registry's bulkhead, for /readyz and /metrics."""

    host: str
    running: int
    waiting: int
    failures: int
    open: bool


class Bulkhead:
    """Per-registry slots and circuit breakers (see the module docstring)."""

    def __init__(
        self,
        limit: int,
        failures: int,
        cooldown: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_open: Callable[[str], None] | None = None,
    ) -> None:
        self.limit = limit
        self.failures = failures
        self.cooldown = cooldown
        self._clock = clock
        self._on_open = on_open
        self._lock = threading.Lock()
        self._registries: dict[str, _Registry] = {}

    def _registry(self, host: str) -> _Registry:
        reg = self._registries.get(host)
        if reg is None:
            if len(self._registries) >= MAX_REGISTRIES:
                idle = [h for h, r in self._registries.items() if not r.running and not r.waiters]
                for old in idle[: max(1, len(idle) // 2)]:
                    del self._registries[old]
            reg = self._registries[host] = _Registry()
        return reg

    def _admit_or_raise(self, host: str, reg: _Registry) -> bool:
        """Raise while the breaker is open; past its cooldown let exactly one probe through (True for it).
        Under the lock."""
        if reg.failures < self.failures:
            return False
        now = self._clock()
        if now < reg.open_until or reg.probing:
            raise RegistryCircuitOpen(host, reg.failures, reg.open_until - now)
        reg.probing = True
        return True

    async def acquire(self, host: str) -> None:
        """Take a slot for ``host``, waiting in arrival order; raises :class:`RegistryCircuitOpen` when the
        registry's breaker is open. Cancelling the wait (the deadline) leaves the queue."""
        loop = asyncio.get_running_loop()
        with self._lock:
            reg = self._registry(host)
            probe = self._admit_or_raise(host, reg)
            if reg.running < self.limit and not reg.waiters:
                reg.running += 1
                return
            waiter = _Waiter(loop.create_future(), probe)
            reg.waiters.append(waiter)
        try:
            await waiter.future
        except asyncio.CancelledError:
            with self._lock:
                if waiter.granted:
                    self._release_locked(host, reg, None)
                else:
                    reg.waiters.remove(waiter)
                    if waiter.probe:
                        reg.probing = False  # the next lookup probes instead
            raise
        if not waiter.probe:
            with self._lock:
                try:
                    self._admit_or_raise(host, reg)  # the breaker may have opened meanwhile
                except RegistryCircuitOpen:
                    self._release_locked(host, reg, None)
                    raise

    def release(self, host: str, healthy: bool | None) -> None:
        """Give ``host``'s slot back (from any thread). ``healthy``: True when the registry answered, False
        on a network failure, None when the lookup says nothing about the registry (cancelled, a bug)."""
        with self._lock:
            self._release_locked(host, self._registry(host), healthy)

    def _release_locked(self, host: str, reg: _Registry, healthy: bool | None) -> None:
        if healthy is True:
            reg.failures = 0
            reg.open_until = 0.0
        elif healthy is False:
            reg.failures += 1
            if reg.failures >= self.failures and (reg.probing or reg.failures == self.failures):
                reg.open_until = self._clock() + self.cooldown
                if self._on_open is not None:
                    self._on_open(host)
        reg.probing = False
        while reg.waiters:
            waiter = reg.waiters.popleft()
            waiter.granted = True  # the slot passes to it: ``running`` stays the same
            try:
                waiter.future.get_loop().call_soon_threadsafe(_grant, waiter.future)
                return
            except RuntimeError:  # its event loop is closed: nobody waits there any more
                continue
        reg.running -= 1
        if reg.running == 0 and not reg.waiters and reg.failures == 0:
            del self._registries[host]  # nothing to remember

    def states(self) -> list[RegistryState]:
        """Every registry with lookups running or waiting, failures, or an open breaker."""
        now = self._clock()
        with self._lock:
            return [
                RegistryState(
                    host,
                    reg.running,
                    len(reg.waiters),
                    reg.failures,
                    reg.failures >= self.failures and (now < reg.open_until or reg.probing),
                )
                for host, reg in self._registries.items()
            ]


def _grant(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


__all__ = ["Bulkhead", "RegistryCircuitOpen", "RegistryState"]
