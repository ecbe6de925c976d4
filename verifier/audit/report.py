"""The audit report: unit outcomes aggregated into one sorted, reproducible ``verifier.audit/v1`` document.

Everything is sorted, so two runs on the same inputs give the same report except for ``generated_at``.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from verifier import __version__
from verifier.errors import InputError
from verifier.models import CheckResult, Decision, Finding
from verifier.records.decision_log import DecisionRecord, summarise

if TYPE_CHECKING:
    from verifier.audit.plan import UnitOutcome

AUDIT_SCHEMA = "verifier.audit/v1"
# {check: {rule: {remediation, explicit, docs}}}: the check docs' text (tests/unit/test_audit_remediation.py).
REMEDIATION_TABLE = Path(__file__).with_name("remediation.json")


# --- remediation ----------------------------------------------------------------------------------------


@functools.cache
def remediation_table() -> dict[str, dict[str, dict[str, Any]]]:
    """The remediation table, read once."""
    table: dict[str, dict[str, dict[str, Any]]] = json.loads(
        REMEDIATION_TABLE.read_text(encoding="utf-8")
    )
    return table


def remediation_for(check: str, finding: Finding) -> str:
    """What to do about ``finding``: the docs' text for its rule; for a scanner's vulnerability id, the
    upgrade it names (package, fixed version) then the check's general advice; else the check's docs."""
    from verifier.checks._base import DOCS_BASE

    rules = remediation_table().get(check, {})
    if finding.rule in rules:
        return str(rules[finding.rule]["remediation"])
    if check == "sarif-severity" and "unwaived-severity" in rules:
        general = str(rules["unwaived-severity"]["remediation"])
        package = finding.properties.get("package")
        fixed = finding.properties.get("fixed_version")
        if package and fixed:
            return f"Upgrade {package} to {fixed} or later. {general}"
        if package:
            return f"No fixed version of {package} yet: replace it or record why it does not apply. {general}"
        return general
    return f"See {DOCS_BASE}/{check}.md"


# --- the report ---------------------------------------------------------------------------------------


class AuditInput(BaseModel):
    """One audited input and the digest of what was read from it."""

    model_config = ConfigDict(frozen=True)

    kind: str
    ref: str
    digest: str | None


class RepositoryScore(BaseModel):
    """One row of the per-repository table."""

    model_config = ConfigDict(frozen=True)

    repository: str
    subjects: int
    passed: int
    findings: dict[str, int]
    by_check: dict[str, dict[str, int]]
    score: float | None
    allowed: bool | None = None
    deny: list[str] = Field(default_factory=list)


class ImageRow(BaseModel):
    """One audited image: its checks' verdicts, passing or not (every image is listed)."""

    model_config = ConfigDict(frozen=True)

    image: str
    digest: str | None
    verdicts: dict[str, str]
    passed: bool
    builder: str | None = None
    """The builder id of the image's verified provenance (check ``provenance``), when it ran and verified."""
    source: dict[str, str | None] | None = None
    """The source the verified provenance names: repository, ref, commit and workflow."""

    def built_from(self) -> str:
        """``builder · repository@ref (commit)`` for the human formats, ``-`` without verified provenance."""
        if self.builder is None:
            return "-"
        src = self.source or {}
        where = src.get("repository") or "?"
        if src.get("ref"):
            where += f"@{src['ref']}"
        if src.get("commit"):
            where += f" ({str(src['commit'])[:12]})"
        return f"{self.builder} · {where}"


class Problem(BaseModel):
    """An input (or part of one) that could not be audited, and why."""

    model_config = ConfigDict(frozen=True)

    input: str
    reason: str


class AuditReport(BaseModel):
    """The ``verifier.audit/v1`` report (fields are added, never renamed)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_: str = Field(default=AUDIT_SCHEMA, alias="schema")
    tool: dict[str, str] = Field(
        default_factory=lambda: {"name": "verifier", "version": __version__}
    )
    generated_at: str
    policy_digest: str
    shard: dict[str, int] | None = None
    inputs: list[AuditInput]
    summary: dict[str, Any]
    repositories: list[RepositoryScore]
    decision: Decision
    decisions: dict[str, Any]
    could_not_audit: list[Problem]
    results: list[CheckResult]
    records: list[DecisionRecord]
    # Files left out on purpose (GitHub would not run them); absent in reports of earlier versions.
    not_checked: list[Problem] = Field(default_factory=list)
    # Every audited image, passing ones too; absent in reports of earlier versions.
    images: list[ImageRow] = Field(default_factory=list)
    # What to do, per check and rule, for every rule with an unwaived finding (docs/checks/*.md).
    remediation: dict[str, dict[str, str]] = Field(default_factory=dict)
    # The policy settings (input.config, per check id) the decisions were made with, so that a merge of
    # shards decides as the shards did; absent in reports of earlier versions.
    settings: dict[str, Any] = Field(default_factory=dict)


def repository_rows(
    results_by_repo: dict[str, list[CheckResult]], decisions: dict[str, Decision] | None = None
) -> list[RepositoryScore]:
    """Per-repository counts and a score: the share of checked files/configs whose verdict is pass, 0-10."""
    rows = []
    for repo in sorted(results_by_repo):
        results = results_by_repo[repo]
        findings: Counter[str] = Counter()
        by_check: dict[str, Counter[str]] = {}
        for result in results:
            by_check.setdefault(result.check, Counter())[result.verdict] += 1
            for f in result.findings:
                if not f.waived:
                    findings[f.severity.value] += 1
        passed = sum(1 for r in results if r.verdict == "pass")
        decision = (decisions or {}).get(repo)
        rows.append(
            RepositoryScore(
                repository=repo,
                subjects=len(results),
                passed=passed,
                findings=dict(sorted(findings.items())),
                by_check={c: dict(sorted(v.items())) for c, v in sorted(by_check.items())},
                score=round(10 * passed / len(results), 1) if results else None,
                allowed=decision.allowed if decision else None,
                deny=list(decision.deny) if decision else [],
            )
        )
    return rows


def summary_counts(results: Sequence[CheckResult]) -> dict[str, Any]:
    """Totals: results per check and verdict, unwaived findings per check and severity, rules per check."""
    verdicts: dict[str, Counter[str]] = {}
    severities: dict[str, Counter[str]] = {}
    rules: dict[str, Counter[str]] = {}
    waived = 0
    for result in results:
        verdicts.setdefault(result.check, Counter())[result.verdict] += 1
        for f in result.findings:
            if f.waived:
                waived += 1
                continue
            severities.setdefault(result.check, Counter())[f.severity.value] += 1
            rules.setdefault(result.check, Counter())[f.rule] += 1
    return {
        "results": len(results),
        "verdicts": {c: dict(sorted(v.items())) for c, v in sorted(verdicts.items())},
        "findings": {c: dict(sorted(v.items())) for c, v in sorted(severities.items())},
        "rules": {c: dict(sorted(v.items())) for c, v in sorted(rules.items())},
        "waived": waived,
    }


def image_rows(outcomes: Sequence[UnitOutcome]) -> list[ImageRow]:
    """One row per image unit, sorted by reference: verdict per check, passed when every check passed."""
    rows = []
    for o in sorted((o for o in outcomes if o.unit.kind == "image"), key=lambda o: o.unit.ref):
        verdicts = {r.check: r.verdict for r in o.results}
        provenance = next(
            (r.facts for r in o.results if r.check == "provenance" and "builder" in r.facts), None
        )
        rows.append(
            ImageRow(
                image=o.unit.ref,
                digest=o.digest,
                verdicts=dict(sorted(verdicts.items())),
                passed=bool(verdicts) and not o.problems and set(verdicts.values()) == {"pass"},
                builder=None if provenance is None else str(provenance["builder"]),
                source=None if provenance is None else _source_fact(provenance.get("source")),
            )
        )
    return rows


def _source_fact(value: object) -> dict[str, str | None] | None:
    """The provenance check's ``source`` fact, its four keys as strings (or None)."""
    if not isinstance(value, dict):
        return None
    return {
        key: None if value.get(key) is None else str(value[key])
        for key in ("repository", "ref", "commit", "workflow")
    }


def remediation_of(results: Sequence[CheckResult]) -> dict[str, dict[str, str]]:
    """Remediation text for every (check, rule) with an unwaived finding, sorted."""
    out: dict[str, dict[str, str]] = {}
    for result in results:
        for f in result.findings:
            if not f.waived and f.rule not in out.get(result.check, {}):
                out.setdefault(result.check, {})[f.rule] = remediation_for(result.check, f)
    return {c: dict(sorted(rules.items())) for c, rules in sorted(out.items())}


def build_report(
    outcomes: Sequence[UnitOutcome],
    bad_inputs: Sequence[tuple[str, str]],
    *,
    decision: Decision,
    repo_decisions: dict[str, Decision],
    policy_digest: str,
    now: datetime,
    shard_of: tuple[int, int] | None = None,
    settings: dict[str, Any] | None = None,
) -> AuditReport:
    """Aggregate unit outcomes into one sorted, reproducible report (``settings``: the input.config the
    decisions were made with)."""
    ordered = sorted(outcomes, key=lambda o: (o.unit.kind, o.unit.ref))
    results = [r for o in ordered for r in o.results]
    records = sorted(
        (r for o in ordered for r in o.records), key=lambda r: (r.time, r.subject, r.source)
    )
    by_repo: dict[str, list[CheckResult]] = {}
    for o in ordered:
        if o.unit.kind == "repository":
            by_repo.setdefault(o.unit.repository, []).extend(o.results)
    problems = [Problem(input=i, reason=r) for i, r in bad_inputs]
    problems += [Problem(input=o.unit.ref, reason=p) for o in ordered for p in o.problems]
    return AuditReport(
        generated_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        policy_digest=policy_digest,
        shard={"index": shard_of[0], "count": shard_of[1]} if shard_of else None,
        inputs=[AuditInput(kind=o.unit.kind, ref=o.unit.ref, digest=o.digest) for o in ordered],
        summary=summary_counts(results),
        repositories=repository_rows(by_repo, repo_decisions),
        decision=decision,
        decisions=summarise(records),
        could_not_audit=sorted(problems, key=lambda p: (p.input, p.reason)),
        results=results,
        records=records,
        not_checked=[
            Problem(input=i, reason=r)
            for i, r in sorted({n for o in ordered for n in o.not_checked})
        ],
        images=image_rows(ordered),
        remediation=remediation_of(results),
        settings=dict(settings or {}),
    )


def _refuse_overlaps(reports: Sequence[AuditReport], names: Sequence[str]) -> None:
    """Each shard, and each input, at most once: merging one twice would count it twice."""
    shard_of: dict[tuple[int, int], str] = {}
    counts = set()
    input_of: dict[tuple[str, str], str] = {}
    for report, name in zip(reports, names, strict=True):
        if report.shard is not None:
            key = (report.shard["index"], report.shard["count"])
            counts.add(key[1])
            if key in shard_of:
                raise InputError(
                    name,
                    f"shard {key[0]}/{key[1]} is already merged from {shard_of[key]}: "
                    "give each shard once",
                )
            shard_of[key] = name
        for i in report.inputs:
            if (i.kind, i.ref) in input_of:
                raise InputError(
                    name,
                    f"input {i.ref} is already merged from {input_of[(i.kind, i.ref)]}: "
                    "a report (or shard) given twice, or shards of different runs",
                )
            input_of[(i.kind, i.ref)] = name
    if len(counts) > 1:
        raise InputError(
            "audit merge", f"shards of different splits (counts {sorted(counts)}): merge one split"
        )


def merge_reports(
    reports: Sequence[AuditReport],
    *,
    decision: Decision,
    now: datetime,
    names: Sequence[str] | None = None,
) -> AuditReport:
    """Combine shard reports (same policy bundle) into one; totals are recomputed from the parts.

    ``names`` (the files the reports came from) name the culprit when a shard or an input is given twice:
    that is refused (InputError), never counted twice.
    """
    digests = {r.policy_digest for r in reports}
    if len(digests) != 1:
        raise InputError(
            "audit merge", f"shards must share one policy bundle, got {sorted(digests)}"
        )
    _refuse_overlaps(reports, names or [f"report {n + 1}" for n in range(len(reports))])
    inputs = {(i.kind, i.ref): i for rep in reports for i in rep.inputs}
    results = [r for rep in reports for r in rep.results]
    records = sorted(
        (r for rep in reports for r in rep.records), key=lambda r: (r.time, r.subject, r.source)
    )
    rows = {row.repository: row for rep in reports for row in rep.repositories}
    problems = sorted({(p.input, p.reason) for rep in reports for p in rep.could_not_audit})
    return AuditReport(
        generated_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        policy_digest=digests.pop(),
        inputs=[inputs[k] for k in sorted(inputs)],
        summary=summary_counts(results),
        repositories=[rows[k] for k in sorted(rows)],
        decision=decision,
        decisions=summarise(records),
        could_not_audit=[Problem(input=i, reason=r) for i, r in problems],
        results=results,
        records=records,
        not_checked=[
            Problem(input=i, reason=r)
            for i, r in sorted({(p.input, p.reason) for rep in reports for p in rep.not_checked})
        ],
        images=sorted((row for rep in reports for row in rep.images), key=lambda r: r.image),
        remediation=remediation_of(results),
        settings=merged_settings(reports),
    )


def merged_settings(reports: Sequence[AuditReport]) -> dict[str, Any]:
    """The shards' policy settings together (a shard without images has no signer settings, say); two
    shards that set one key differently were audited with different configs: refused (InputError)."""
    merged: dict[str, dict[str, Any]] = {}
    for report in reports:
        for check_id, values in report.settings.items():
            into = merged.setdefault(check_id, {})
            for key, value in (values or {}).items():
                if key in into and into[key] != value:
                    raise InputError(
                        "audit merge",
                        f"shards were audited with different settings ({check_id}.{key}: "
                        f"{into[key]!r} and {value!r}); audit every shard with the same --config",
                    )
                into[key] = value
    return dict(merged)
