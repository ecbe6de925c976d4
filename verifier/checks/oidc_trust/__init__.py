"""Check ``oidc-trust``: cloud OIDC trust configurations scoped to the right repository and ref.

Pure: a :class:`TrustConfig` (collected by ``verifier.sources.trust_policy_files``) in, one
:class:`~verifier.models.CheckResult` out. Providers: AWS IAM role trust policies (``aws``), GCP Workload
Identity Federation providers and their IAM bindings (``gcp``), Azure federated identity credentials,
standard and flexible (``azure``).

Each configuration is evaluated assuming every unknown admits everything, then, when there were
unknowns, assuming they pin everything. Two kinds are kept apart: a construct the evaluator does not
understand (an unknown CEL function, a parse failure, a comparison it does not model) gives
``unsupported`` when it changes the verdict, and the default policy denies it; a value only known at
deploy time (an open template) gives ``indeterminate`` (facts ``verdict_if_narrow`` /
``verdict_if_broad``). When the file allows several renderings (CloudFormation ``AllowedValues``, a
condition on a parameter), each is evaluated and the worst decides.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any

from verifier.checks import registry
from verifier.checks._base import Check, RunContext
from verifier.checks.oidc_trust.model import (
    BREADTH,
    RULES,
    Bind,
    Collector,
    TrustVerdict,
)
from verifier.errors import InputError
from verifier.models import CheckResult, Finding, Location, Severity
from verifier.models.config import STRICT
from verifier.models.trust import Scenario, TrustConfig

META = registry.get("oidc-trust")
CHECK_ID = META.id

__all__ = [
    "CHECK",
    "CHECK_ID",
    "META",
    "RULES",
    "TrustConfig",
    "TrustPoliciesSection",
    "TrustVerdict",
    "check",
    "check_all",
]

_SUMMARY = {
    TrustVerdict.FAIL: "assumable by workflows outside the intended owner",
    TrustVerdict.WARN_ORG: "assumable by any repository of one owner",
    TrustVerdict.WARN_REF: "assumable by one repository from any ref or event",
    TrustVerdict.PASS: "pinned to the repository and a ref or environment",
    TrustVerdict.BROKEN: "can never match a GitHub token, or is invalid",
    TrustVerdict.INDETERMINATE: "an unresolved template decides who can assume",
    TrustVerdict.UNSUPPORTED: "a construct the evaluator does not understand decides who can assume",
}

# When no finding explains a verdict on its own (e.g. several keys that each pin a little), say it.
_FALLBACK = {
    TrustVerdict.FAIL: (
        "sub-missing",
        "no condition pins the repository owner: workflows of other owners can assume",
    ),
    TrustVerdict.WARN_ORG: (
        "sub-wildcard-repo",
        "the conditions pin only the owner: every repository of it can assume",
    ),
    TrustVerdict.WARN_REF: (
        "sub-context-unpinned",
        "the conditions pin the repository but no ref or "
        "environment: every workflow run of it can assume",
    ),
}


def _run(
    config: TrustConfig, scenario: Scenario, unsupported: Scenario = "worst"
) -> tuple[TrustVerdict, Collector, dict[str, Any]]:
    col = Collector(config, scenario, unsupported)
    for note in config.notes:
        # How the reader rendered the file (a parameter default taken, a value known after apply).
        col.add("unresolved-template", note, *re.findall(r"parameter (\w+)", note))
    binding: Bind | None
    if config.provider == "aws":
        from verifier.checks.oidc_trust import aws

        binding, facts = aws.evaluate(col)
        verdict = binding.verdict() if binding is not None else TrustVerdict.PASS
    elif config.provider == "gcp":
        from verifier.checks.oidc_trust import gcp

        verdict_or_none, facts = gcp.evaluate(col)
        binding = None if verdict_or_none is None else Bind()
        verdict = verdict_or_none or TrustVerdict.PASS
    else:
        from verifier.checks.oidc_trust import azure

        verdict_or_none, facts = azure.evaluate(col)
        binding = None if verdict_or_none is None else Bind()
        verdict = verdict_or_none or TrustVerdict.PASS
    if binding is None:
        col.add(
            "no-github-trust",
            "no statement or credential trusts GitHub Actions tokens: no workflow can "
            "use this configuration",
        )
    facts["github"] = binding is not None
    return verdict, col, facts


def check(config: TrustConfig) -> CheckResult:
    """Evaluate one trust configuration (every rendering of it; the worst decides)."""
    if config.error is not None:
        raise InputError(config.path, config.error)
    if len(config.renderings) > 1:
        return _check_renderings(config)
    if config.renderings:
        config = dataclasses.replace(config, document=config.renderings[0].document, renderings=())
    worst_verdict, worst, facts = _run(config, "worst")
    verdict = worst_verdict
    findings = list(worst.findings)
    if worst.unsupported:
        understood_verdict, understood, _ = _run(config, "worst", "best")
        if understood_verdict != worst_verdict:
            verdict = TrustVerdict.UNSUPPORTED
            facts["verdict_if_understood_narrow"] = understood_verdict.value
            facts["verdict_if_broad"] = worst_verdict.value
            facts["unsupported"] = list(worst.unsupported)
            # Keep what holds either way and what names the construct, not what only the broad guess
            # implies (a "no condition pins the owner" that is true only if the construct pins nothing).
            both = {(f.rule, f.message) for f in understood.findings}
            findings = [
                Finding(
                    rule="unsupported-construct",
                    severity=Severity.CRITICAL,
                    message=f"the verdict depends on what the evaluator does not understand "
                    f"({'; '.join(worst.unsupported)}): {understood_verdict.value} if it pins the "
                    f"identity, {worst_verdict.value} if it admits everything",
                    location=_first_location(worst.findings, config),
                ),
                *(
                    f
                    for f in findings
                    if (f.rule, f.message) in both or f.rule in _NOT_UNDERSTOOD_RULES
                ),
            ]
    if worst.templates and verdict != TrustVerdict.UNSUPPORTED:
        best_verdict, best, _ = _run(config, "best")
        if best_verdict != worst_verdict:
            # Even the narrowest reading is at least as broad as `indeterminate`: that reading is certain
            # (a template can only make it worse), so it is the verdict; adding a templated statement
            # never makes a verdict better.
            lower_bound = BREADTH[best_verdict] >= BREADTH[TrustVerdict.INDETERMINATE]
            verdict = best_verdict if lower_bound else TrustVerdict.INDETERMINATE
            # Keep what holds either way (and the template notes), not what only the broad guess implies.
            both = {(f.rule, f.message) for f in best.findings}
            findings = [
                f
                for f in findings
                if (f.rule, f.message) in both or f.rule == "unresolved-template"
            ]
            facts["verdict_if_narrow"] = best_verdict.value
            facts["verdict_if_broad"] = worst_verdict.value
            findings.append(
                Finding(
                    rule="unresolved-template",
                    severity=Severity.MEDIUM,
                    message=f"the verdict depends on unresolved template values ({'; '.join(worst.templates)}): "
                    f"{best_verdict.value} if they are narrow, {worst_verdict.value} if they are broad",
                    # at least the narrow verdict: a finding of the narrow reading explains it below
                    location=findings[0].location if findings else None,
                )
            )
    fallback = _FALLBACK.get(verdict)
    if fallback and not any(f.severity.rank >= RULES[fallback[0]].rank for f in findings):
        findings.append(
            Finding(
                rule=fallback[0],
                severity=RULES[fallback[0]],
                message=fallback[1],
                location=findings[0].location if findings else Location(path=config.path),
            )
        )
    if config.admin_permissions and verdict in (
        TrustVerdict.FAIL,
        TrustVerdict.WARN_ORG,
        TrustVerdict.WARN_REF,
        TrustVerdict.INDETERMINATE,
        TrustVerdict.UNSUPPORTED,
    ):
        amplified = (
            ", which amplifies the other findings" if verdict != TrustVerdict.WARN_REF else ""
        )
        findings.append(
            Finding(
                rule="role-admin-permissions",
                severity=Severity.CRITICAL
                if verdict in (TrustVerdict.FAIL, TrustVerdict.WARN_ORG, TrustVerdict.UNSUPPORTED)
                else Severity.HIGH,
                message=f"the role also carries administrator-like permissions "
                f"({', '.join(config.admin_permissions)}){amplified}",
                location=_admin_location(config) or (findings[0].location if findings else None),
            )
        )
    elif config.admin_permissions:
        findings.append(
            Finding(
                rule="role-admin-permissions",
                severity=Severity.LOW,
                message=f"the role carries administrator-like permissions ({', '.join(config.admin_permissions)})",
                location=_admin_location(config),
            )
        )
    facts.update(
        {
            "provider": config.provider,
            "name": config.name,
            "summary": _SUMMARY[verdict],
            "admin_permissions": list(config.admin_permissions),
        }
    )
    if config.notes:
        facts["notes"] = list(config.notes)
    findings.sort(key=lambda f: -f.severity.rank)
    deciding = [f for f in findings if f.rule != "role-admin-permissions"] or findings
    if verdict != TrustVerdict.PASS and deciding:
        facts["reason"] = deciding[0].message
    return CheckResult(
        check=CHECK_ID,
        subject=config.subject,
        verdict=verdict.value,
        findings=tuple(findings),
        facts=facts,
    )


_NOT_UNDERSTOOD_RULES = frozenset(
    {
        "gcp-condition-unsupported",
        "gcp-condition-invalid",
        "azure-expression-invalid",
        "unsupported-construct",
    }
)


def _first_location(findings: Iterable[Finding], config: TrustConfig) -> Location:
    for finding in findings:
        if (
            finding.rule in ("gcp-condition-unsupported", "unsupported-construct")
            and finding.location
        ):
            return finding.location
    return Location(path=config.path, line=config.first_line if config.first_line > 1 else None)


def _check_renderings(config: TrustConfig) -> CheckResult:
    """Every rendering the file allows; the worst decides and the others are listed in the facts."""
    results = [
        (r.label, check(dataclasses.replace(config, document=r.document, renderings=())))
        for r in config.renderings
    ]
    label, worst = max(results, key=lambda lr: BREADTH[TrustVerdict(lr[1].verdict)])
    facts = dict(worst.facts)
    facts["renderings"] = [{"values": lbl, "verdict": r.verdict} for lbl, r in results]
    findings = list(worst.findings)
    if len({r.verdict for _l, r in results}) > 1:
        findings.append(
            Finding(
                rule="unresolved-template",
                severity=RULES["unresolved-template"],
                message=f"the file allows {len(results)} renderings; the worst ({label}) decides: "
                + ", ".join(f"{lbl} → {r.verdict}" for lbl, r in results),
                location=worst.findings[0].location if worst.findings else None,
            )
        )
        findings.sort(key=lambda f: -f.severity.rank)
    return dataclasses.replace(worst, findings=tuple(findings), facts=facts)


def _admin_location(config: TrustConfig) -> Location | None:
    col = Collector(config, "worst")
    names = [p.split(" ")[0] for p in config.admin_permissions]
    line = col.line_of(*names, "ManagedPolicyArns", "managed_policy_arns", "PolicyDocument")
    return Location(path=config.path, line=line)


def check_all(configs: Iterable[TrustConfig]) -> list[CheckResult]:
    """Evaluate several configurations, one result each.

    A configuration that cannot be read raises :class:`InputError` (exit 2) when it is the only one of
    its file; when its file holds others, it gets the verdict ``error`` (denied) and the others are judged.
    """
    items = list(configs)
    per_file: dict[str, int] = {}
    for c in items:
        per_file[c.path] = per_file.get(c.path, 0) + 1
    results = []
    for c in items:
        try:
            results.append(check(c))
        except InputError as exc:
            if per_file[c.path] == 1:
                raise
            results.append(
                CheckResult(
                    check=CHECK_ID,
                    subject=c.subject,
                    verdict="error",
                    findings=(
                        Finding(
                            rule="configuration-invalid",
                            severity=RULES["configuration-invalid"],
                            message=exc.problem,
                            location=Location(
                                path=c.path, line=c.first_line if c.first_line > 1 else None
                            ),
                        ),
                    ),
                    facts={"error": exc.problem, "provider": c.provider, "name": c.name},
                )
            )
    return results


def worst_verdict(verdicts: Iterable[str]) -> str:
    """The broadest of several verdicts (``fail`` > ``warn-org`` > ``indeterminate`` > ...)."""
    return max(
        (TrustVerdict(v) for v in verdicts), key=BREADTH.__getitem__, default=TrustVerdict.PASS
    ).value


# --- the check as the pipeline runs it -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrustPoliciesSection:
    """Cloud OIDC trust configurations (check `oidc-trust`): AWS, GCP, Azure."""

    __pydantic_config__ = STRICT

    paths: tuple[str, ...] = ()
    """Trust policy files or directories (AWS JSON / CloudFormation / Terraform, GCP, Azure); `verifier
    check trust-policy` takes them from its arguments; an empty list in the gate gives verdict error."""
    deny: tuple[TrustVerdict, ...] | None = None
    """Verdicts that deny (default: fail, warn-org, unsupported)."""
    warn: tuple[TrustVerdict, ...] | None = None
    """Verdicts that warn (default: warn-ref, broken, indeterminate). `unsupported` is denied unless it
    is named here and left out of `deny`."""
    max_size: int = dataclasses.field(default=8, metadata={"ge": 1})
    """Refuse input files larger than this many MiB (exit 2)."""


class OidcTrustCheck(Check[TrustPoliciesSection, tuple[TrustConfig, ...]]):
    """``oidc-trust``: every trust configuration scoped to the right repository and ref."""

    meta = META
    section_type = TrustPoliciesSection

    def collect(self, section: TrustPoliciesSection, ctx: RunContext) -> tuple[TrustConfig, ...]:
        """Every trust configuration under the paths (files named explicitly must hold one); Terraform
        blocks that create nothing (count 0, empty for_each) become notices."""
        from verifier.sources.files import MIB
        from verifier.sources.trust_policy_files import load_configs

        skipped: list[str] = []
        configs = load_configs(list(section.paths), section.max_size * MIB, skipped=skipped)
        for text in skipped:
            ctx.notice(text)
        for path in dict.fromkeys(c.path for c in configs):
            ctx.record_input(path, "trust-policy")
        return tuple(configs)

    def judge(
        self, evidence: tuple[TrustConfig, ...], section: TrustPoliciesSection, ctx: RunContext
    ) -> list[CheckResult]:
        """One result per configuration; an error result when no path is configured."""
        if not section.paths:
            reason = "no trust policy configured (trust_policies.paths is empty)"
            return [
                CheckResult(
                    check=CHECK_ID,
                    subject="trust_policies.paths",
                    verdict="error",
                    facts={"error": reason},
                )
            ]
        if not evidence:
            # Every configuration found is one Terraform does not create (the notices name them): there
            # is nothing verified to allow.
            reason = (
                "no trust configuration under trust_policies.paths is created (count = 0 or an empty "
                "for_each on each; see the notices)"
            )
            return [
                CheckResult(
                    check=CHECK_ID,
                    subject=self.subject(section, ctx),
                    verdict="error",
                    facts={"error": reason},
                )
            ]
        return check_all(evidence)

    def policy_config(
        self, section: TrustPoliciesSection, evidence: tuple[TrustConfig, ...] | None
    ) -> dict[str, Any]:
        """The verdicts that deny and warn, when the section sets them."""
        out: dict[str, Any] = {}
        if section.deny is not None:
            out["deny"] = [v.value for v in section.deny]
        if section.warn is not None:
            out["warn"] = [v.value for v in section.warn]
        return out

    def subject(self, section: TrustPoliciesSection, ctx: RunContext) -> str:
        """The configured paths."""
        return ", ".join(section.paths)


CHECK = OidcTrustCheck()
