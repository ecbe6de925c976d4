"""The policy's answer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """Allowed or not, with the reasons. ``allowed`` is true only when ``deny`` is empty."""

    allowed: bool
    deny: tuple[str, ...] = ()
    warn: tuple[str, ...] = ()
