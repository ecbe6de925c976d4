"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning (valid against the OASIS schema; tested).

One rule per (check, rule id), named ``verifier/<check>/<rule>``; waived findings carry a suppression.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from verifier import __version__
from verifier.checks import registry
from verifier.models import CheckResult, Decision, Finding, Severity

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://github.com/verifier-dev/verifier"

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.UNKNOWN: "note",
    Severity.INFO: "note",
}
# GitHub code scanning reads `security-severity` (0.0-10.0) to rank security alerts.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.UNKNOWN: "0.0",
    Severity.INFO: "0.0",
}


def _help_uri(check: str, rule: str) -> str:
    try:
        return registry.get(check).rule_url(rule)
    except KeyError:
        return INFORMATION_URI


def _location(finding: Finding) -> list[dict[str, Any]]:
    loc = finding.location
    if loc is None:
        return []
    physical: dict[str, Any] = {"artifactLocation": {"uri": loc.path}}
    if loc.line and loc.line >= 1:
        region: dict[str, Any] = {"startLine": loc.line}
        if loc.column and loc.column >= 1:
            region["startColumn"] = loc.column
        physical["region"] = region
    return [{"physicalLocation": physical}]


def sarif_document(
    decision: Decision, results: Sequence[CheckResult], notices: Sequence[str] = ()
) -> dict[str, Any]:
    """The SARIF log as a dict; ``notices`` become the invocation's ``toolExecutionNotifications``."""
    rules: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}
    sarif_results: list[dict[str, Any]] = []
    for result in results:
        for finding in result.findings:
            rule_id = f"verifier/{result.check}/{finding.rule}"
            if rule_id not in rule_index:
                rule_index[rule_id] = len(rules)
                rules.append(
                    {
                        "id": rule_id,
                        "name": finding.rule,
                        "shortDescription": {"text": f"{result.check}: {finding.rule}"},
                        "helpUri": _help_uri(result.check, finding.rule),
                        "properties": {
                            "tags": ["security", result.check],
                            "security-severity": _SECURITY_SEVERITY[finding.severity],
                        },
                    }
                )
            entry: dict[str, Any] = {
                "ruleId": rule_id,
                "ruleIndex": rule_index[rule_id],
                "level": _LEVEL[finding.severity],
                "message": {"text": finding.message},
                "locations": _location(finding),
                "properties": {
                    "severity": finding.severity.value,
                    "subject": result.subject,
                    "verdict": result.verdict,
                },
            }
            if finding.waived:
                entry["suppressions"] = [
                    {
                        "kind": "external",
                        "status": "accepted",
                        "justification": finding.waiver_reason or "waived",
                    }
                ]
            sarif_results.append(entry)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "verifier",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "invocations": [_invocation(notices)],
                "results": sarif_results,
                "properties": {
                    "decision": {
                        "allowed": decision.allowed,
                        "deny": list(decision.deny),
                        "warn": list(decision.warn),
                    }
                },
            }
        ],
    }


def _invocation(notices: Sequence[str]) -> dict[str, Any]:
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if notices:
        invocation["toolExecutionNotifications"] = [
            {"level": "note", "message": {"text": n}} for n in notices
        ]
    return invocation


def render_sarif(
    decision: Decision, results: Sequence[CheckResult], notices: Sequence[str] = ()
) -> str:
    """The SARIF log as indented JSON."""
    return json.dumps(sarif_document(decision, results, notices), indent=2) + "\n"
