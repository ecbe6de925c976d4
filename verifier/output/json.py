"""``--format json``: the stable ``verifier.report/v1`` document (fields are added, never renamed).

The wire model is separate from the internal models (they may change; this may only grow), and is
serialised by pydantic-core: a report with 100,000 findings is written in well under a second.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from verifier import __version__
from verifier.models import CheckResult, Decision

REPORT_SCHEMA = "verifier.report/v1"


class _Tool(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = "verifier"
    version: str = __version__


class _Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    allowed: bool
    deny: list[str]
    warn: list[str]


class ReportV1(BaseModel):
    """The ``verifier.report/v1`` document."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_: str = Field(default=REPORT_SCHEMA, alias="schema")
    tool: _Tool = Field(default_factory=_Tool)
    decision: _Decision
    results: list[CheckResult]

    @classmethod
    def build(cls, decision: Decision, results: Sequence[CheckResult]) -> ReportV1:
        """The report for one decision."""
        return cls(decision=_Decision(allowed=decision.allowed, deny=list(decision.deny), warn=list(decision.warn)),
                   results=list(results))


def report_document(decision: Decision, results: Sequence[CheckResult]) -> dict[str, Any]:
    """The report as a JSON-ready dict (for adapters that embed it, e.g. the VSA)."""
    parsed: dict[str, Any] = json.loads(render_json(decision, results))
    return parsed


def render_json(decision: Decision, results: Sequence[CheckResult]) -> str:
    """Indented JSON with a trailing newline."""
    return ReportV1.build(decision, results).model_dump_json(indent=2, by_alias=True) + "\n"
