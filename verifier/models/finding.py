"""Findings: one observation of one check about one place."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.StrEnum):
    """Severity of a finding, ordered so that thresholds work (see :meth:`rank`)."""

    INFO = "info"
    UNKNOWN = "unknown"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Position in the order info < unknown < low < medium < high < critical."""
        return _ORDER.index(self)


_ORDER = list(Severity)


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    """Where a finding points: a file (with optional line/column) or another subject."""

    path: str
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One observation. ``rule`` is a stable kebab-case id or, for scanners, the upstream id."""

    rule: str
    severity: Severity
    message: str
    location: Location | None = None
    waived: bool = False
    waiver_reason: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
