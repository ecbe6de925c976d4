"""Deadlines for network work: one budget that every connect, TLS handshake, header and body read draws from.

A per-operation timeout is an *idle* timeout: a server that sends one byte just before it expires keeps a
request alive forever. A :class:`Deadline` is a point in time instead. :func:`within` makes it the deadline
of everything that runs in the current context (a contextvar, so it follows the call into the registry
client without being threaded through every signature); nested scopes only ever shorten it. The registry
client gives each socket operation the time that is *left* (never more), so nothing outlives the deadline
by more than one clock tick.

Worker threads do not inherit contextvars: code that hands registry work to a thread pool runs it under
``contextvars.copy_context().run`` (as :func:`verifier.sources.oci_common.collect_all` does).

Example::

    with within(Deadline.after(30.0, "--timeout")):
        evidence = collect_image_evidence("ghcr.io/acme/app@sha256:…")   # DeadlineExceeded after 30 s
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from verifier.errors import NetworkError

# The CLI's --timeout default and collect_image_evidence's: the whole command's registry work.
DEFAULT_DEADLINE_SECONDS = 30.0
# A socket operation is never given less than this: a zero timeout would make the socket non-blocking
# (an error that is not a timeout) instead of timing out at once.
_MIN_WAIT = 0.001


@dataclass(frozen=True)
class Deadline:
    """A point on the monotonic clock by which some network work must be done.

    ``seconds`` is the budget it was made with and ``label`` what set it (``--timeout``, ``lookup``), both
    for messages only.
    """

    at: float
    seconds: float
    label: str = "deadline"

    @classmethod
    def after(cls, seconds: float, label: str = "deadline") -> Deadline:
        """The deadline ``seconds`` from now."""
        return cls(time.monotonic() + seconds, seconds, label)

    def remaining(self) -> float:
        """Seconds left (negative once passed)."""
        return self.at - time.monotonic()

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.remaining() <= 0

    def wait(self, what: str) -> float:
        """The longest a blocking operation on ``what`` may wait now; raises once nothing is left."""
        left = self.remaining()
        if left <= 0:
            raise DeadlineExceeded(what, self)
        return max(left, _MIN_WAIT)

    def clamp(self, timeout: float | None) -> float:
        """``timeout`` shortened to the time left (at least a millisecond, so it times out, not fails)."""
        left = max(self.remaining(), _MIN_WAIT)
        return left if timeout is None else min(timeout, left)


class DeadlineExceeded(NetworkError):  # noqa: N818 - named for what happened, like TimeoutError
    """Registry work did not finish by its deadline (exit 3: could not evaluate)."""

    def __init__(self, what: str, deadline: Deadline) -> None:
        super().__init__(
            f"{what}: no answer within {deadline.seconds:g}s (the {deadline.label} deadline)"
        )
        self.what = what
        self.deadline = deadline

    def diagnostics(self) -> str:
        """What ran out and what to do; not the generic "is the service reachable?" hint."""
        hint = (
            " (raise --timeout for a slow or far registry)"
            if self.deadline.label == "--timeout"
            else ""
        )
        return (
            f"{self}: the registry was too slow or stopped answering{hint}; "
            "nothing was verified, so this counts as a deny"
        )


_CURRENT: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "verifier_deadline", default=None
)


def current() -> Deadline | None:
    """The deadline of the current context, if any."""
    return _CURRENT.get()


def earliest(*deadlines: Deadline | None) -> Deadline | None:
    """The earliest of the given deadlines (None when none is given)."""
    found = [d for d in deadlines if d is not None]
    return min(found, key=lambda d: d.at) if found else None


@contextmanager
def within(deadline: Deadline | float, label: str = "deadline") -> Iterator[Deadline]:
    """Run the block under ``deadline`` (a :class:`Deadline`, or seconds from now), or under the current one
    when that is earlier. Yields the deadline in force."""
    new = deadline if isinstance(deadline, Deadline) else Deadline.after(deadline, label)
    effective = earliest(_CURRENT.get(), new)
    assert effective is not None  # noqa: S101 - new is never None
    token = _CURRENT.set(effective)
    try:
        yield effective
    finally:
        _CURRENT.reset(token)


__all__ = [
    "DEFAULT_DEADLINE_SECONDS",
    "Deadline",
    "DeadlineExceeded",
    "current",
    "earliest",
    "within",
]
