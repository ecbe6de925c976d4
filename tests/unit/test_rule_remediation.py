"""Every rule id a check can report has a "Remediation:" paragraph under its heading in docs/checks/<check>.md.

The audit report's Remediation column (``verifier/audit/remediation.json``, kept equal to the docs by
``test_audit_remediation.py``) falls back to a rule's description when its docs say nothing about the fix,
and to a bare link when the rule has no heading at all. This test closes both gaps.

The rule ids are read from the code, not from a list kept here: the checks that keep a ``RULES`` table
(``actions-pinned``, ``oidc-trust``) give it; for the others every rule id the source passes to a
finding or a problem is read with :mod:`ast` (string literals, names assigned a literal and both arms of a
conditional, as the first argument of the constructors below or as ``rule=``), plus every
:class:`~verifier.sigstore.errors.Reason`, which the signature and provenance checks report as the rule.
A rule added to the code without docs fails here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.unit.test_audit_remediation import table_from_docs
from verifier.checks.actions_pinned import RULES as ACTIONS_RULES
from verifier.checks.oidc_trust import RULES as OIDC_RULES
from verifier.sigstore.errors import Reason

ROOT = Path(__file__).resolve().parents[2]
REASONS = frozenset(str(r) for r in Reason)

# Calls whose first argument is a rule id: findings, and the problems and errors a check turns into findings.
_RULE_CALLS = frozenset({"Problem", "StatementError", "AttestationProblem", "_fail", "_finding"})

# Rule ids the sources raise that a check never reports as a finding (it lists the attestation as ignored).
_NOT_FINDINGS = {"sbom-attestation": frozenset({"predicate-unsupported"})}


def _assigned(tree: ast.Module) -> dict[str, set[str]]:
    """``NAME = "text"`` (or a conditional of texts) anywhere in the module: module constants and locals
    such as ``rule = "a" if … else "b"``; a name assigned in several places can be each of the texts."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            texts = _texts(node.value, {})
            for target in node.targets:
                if texts and isinstance(target, ast.Name):
                    found.setdefault(target.id, set()).update(texts)
    return found


def _texts(node: ast.expr, names: dict[str, set[str]]) -> set[str]:
    """The strings an argument can be (empty when it is computed: a parameter, a reason)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Name):
        return set(names.get(node.id, ()))
    if isinstance(node, ast.IfExp):
        return _texts(node.body, names) | _texts(node.orelse, names)
    return set()


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def rules_in_source(paths: Iterable[Path]) -> set[str]:
    """Every rule id the modules pass as ``rule=`` or as the first argument of a rule-carrying constructor."""
    found: set[str] = set()
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _assigned(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg == "rule":
                    found |= _texts(keyword.value, names)
            if _call_name(node) in _RULE_CALLS and node.args:
                found |= _texts(node.args[0], names)
    return found


def emitted_rules() -> dict[str, set[str]]:
    """Check id -> the rule ids its code can put on a finding."""
    checks = ROOT / "verifier" / "checks"
    sbom = rules_in_source(
        [checks / "sbom_attestation.py", ROOT / "verifier" / "sbom" / "intoto.py"]
    )
    return {
        "actions-pinned": set(ACTIONS_RULES),
        "oidc-trust": set(OIDC_RULES),
        "signature": rules_in_source([checks / "signature.py"]) | REASONS,
        "sbom-attestation": sbom - _NOT_FINDINGS["sbom-attestation"],
        "provenance": rules_in_source(sorted((checks / "provenance").glob("*.py"))) | REASONS,
    }


def test_the_source_reading_finds_the_rules_it_must() -> None:
    """The AST reading is not vacuous: it finds constants, literals, both arms and the helpers' rules."""
    rules = emitted_rules()
    assert {"no-signature", "evidence-incomplete", "threshold-not-met"} <= rules["signature"]
    assert {"collection-problem", "sbom-problems", "payload-type", "sbom-too-large"} <= rules[
        "sbom-attestation"
    ]
    assert "predicate-unsupported" in rules_in_source([ROOT / "verifier" / "sbom" / "intoto.py"])
    assert {
        "no-provenance",
        "provenance-unsigned",
        "branch-mismatch",
        "claims-missing",
        "predicate-noncanonical",
        "not-provenance",
        "envelope-invalid",
        "metadata-invalid",
        "statement-mismatch",
        "summary-mismatch",
    } <= rules["provenance"]


@pytest.mark.parametrize("check", sorted(emitted_rules()))
def test_every_rule_the_code_reports_has_a_remediation_paragraph(check: str) -> None:
    documented = table_from_docs()[check]
    emitted = emitted_rules()[check]
    no_heading = sorted(emitted - set(documented))
    assert no_heading == [], f"docs/checks/{check}.md has no '### <rule>' heading for {no_heading}"
    no_remediation = sorted(r for r in emitted if not documented[r]["explicit"])
    assert no_remediation == [], (
        f"docs/checks/{check}.md: no 'Remediation:' paragraph under {no_remediation}"
    )


def test_every_documented_rule_has_a_remediation_paragraph() -> None:
    """Also the rules only the policy reports (sbom-too-old, unwaived-severity…)."""
    missing = sorted(
        f"{check}#{rule}"
        for check, rules in table_from_docs().items()
        for rule, entry in rules.items()
        if not entry["explicit"]
    )
    assert missing == []
