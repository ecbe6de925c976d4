"""Pause Python's cyclic garbage collector around allocation-heavy work, and put it back as it was.

Checking many workflow files allocates a node graph per file and drops it file by file. The graphs hold
no reference cycles (aliases are shared children, not back-references), so reference counting frees
them; the cyclic collector would only rescan the results kept so far, again and again, a cost that grows
with the number of files (``bench/bench_actions.py --gc`` measures it). Pausing it is safe for such work
and must never outlive it: callers after it (a webhook, a test run) need the collector.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cyclic collector for the ``with`` block; re-enable it afterwards only if it was
    enabled before (so nesting, and callers that disabled it themselves, keep their state)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
