"""Findings: one observation of one check about one place."""

from __future__ import annotations

import enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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


class Location(BaseModel):
    """Where a finding points: a file (with optional line/column) or another subject."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    line: int | None = None
    column: int | None = None


class Finding(BaseModel):
    """One observation. ``rule`` is a stable kebab-case id or, for scanners, the upstream id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str
    severity: Severity
    message: str
    location: Location | None = None
    waived: bool = False
    waiver_reason: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
