"""``--format json``: the stable ``verifier.report/v1`` document (fields are added, never renamed)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from verifier import __version__
from verifier.models import CheckResult, Decision

REPORT_SCHEMA = "verifier.report/v1"


def report_document(decision: Decision, results: Sequence[CheckResult]) -> dict[str, Any]:
    """The report as a JSON-ready dict (also used by other adapters, e.g. the VSA)."""
    return {
        "schema": REPORT_SCHEMA,
        "tool": {"name": "verifier", "version": __version__},
        "decision": {"allowed": decision.allowed, "deny": list(decision.deny), "warn": list(decision.warn)},
        "results": [result.model_dump(mode="json") for result in results],
    }


def render_json(decision: Decision, results: Sequence[CheckResult]) -> str:
    """Indented JSON with a trailing newline."""
    return json.dumps(report_document(decision, results), indent=2) + "\n"
