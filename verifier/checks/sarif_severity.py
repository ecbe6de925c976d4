"""Check ``sarif-severity``: scanner findings (Trivy SARIF or Trivy JSON) within the severity policy.

Pure: takes a decoded report plus waiver sources and returns one CheckResult per report. Every result of
every run becomes one finding (results are counted, not rules). The Trivy severity of a result is taken
from the first of these that has one (per-result data before rule data, because Trivy overwrites a rule
with the data of the last result that shares its id):

1. ``Severity: X`` in the result message (current Trivy SARIF writer);
2. a severity word among the rule's tags (template-era Trivy, other tag positions);
3. ``Severity: X`` in the rule help (template-era Trivy, grype, anchore);
4. an ``[X]`` prefix on the rule id (the earliest contrib/sarif.tpl);
5. ``security-severity`` (CVSS score) or the SARIF ``level``, reported as *degraded*: ``level`` alone cannot
   tell CRITICAL from HIGH (both are ``error``), so ``error`` is read as critical to fail closed.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from verifier.checks import registry
from verifier.checks._base import Check, RunContext
from verifier.errors import InputError
from verifier.models import CheckResult, Finding, Location, Severity
from verifier.models.config import STRICT
from verifier.sources.scan_reports import Rule, Run, SarifResult, ScanDocument, TrivyResult

if TYPE_CHECKING:
    from verifier.sources.trivyignore import IgnoreRule
    from verifier.sources.vex import VexDocument

CHECK_ID = "sarif-severity"
META = registry.get(CHECK_ID)

DEFAULT_FAIL_ON: tuple[Severity, ...] = (Severity.CRITICAL, Severity.HIGH)

# Trivy's severities plus the words other scanners (grype, Red Hat, anchore) use for the same levels.
_SEVERITY_WORDS: dict[str, Severity] = {
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.HIGH,
    "IMPORTANT": Severity.HIGH,
    "MEDIUM": Severity.MEDIUM,
    "MODERATE": Severity.MEDIUM,
    "LOW": Severity.LOW,
    "NEGLIGIBLE": Severity.LOW,
    "UNKNOWN": Severity.UNKNOWN,
}
_SEVERITY_LINE = re.compile(r"^\s*Severity:\s*([A-Za-z]+)\s*$", re.MULTILINE)
_BRACKET_PREFIX = re.compile(r"^\[([A-Za-z]+)\]\s*(.*)$")
_FIELD_LINE = re.compile(
    r"^\s*(Package|Installed Version|Fixed Version|Artifact|Type):[ \t]*(.*?)\s*$", re.MULTILINE
)
# Template-era Trivy rule ids are "<vuln id>/<package>"; keep the vulnerability id.
_ID_WITH_PACKAGE = re.compile(
    r"^((?:CVE|GHSA|ALAS|ALAS2|ELSA|RHSA|DSA|DLA|USN|GO|PYSEC|RUSTSEC|OSV|TEMP|NSWG|SNYK)-[^/\s]+)/(.+)$",
    re.IGNORECASE,
)
# Plain-str severity names: enum `.value` lookups are measurably slow at 100,000 findings.
_VALUE: dict[Severity, str] = {s: s.value for s in Severity}
_KINDS = ("vulnerability", "misconfiguration", "secret", "license")
_LEVEL_FALLBACK = {
    "error": Severity.CRITICAL,
    "warning": Severity.MEDIUM,
    "note": Severity.LOW,
    "none": Severity.UNKNOWN,
}


@dataclass(frozen=True)
class Waiver:
    """Why a finding is waived, as decided by one waiver source."""

    reason: str
    source: str


# A waiver source answers: is this finding waived? (finding id, kind, path, purl, fixed version) -> Waiver|None
WaiverSource = Callable[["RawFinding"], Waiver | None]


@dataclass(frozen=True)
class RawFinding:
    """What one scanner result says, before waivers."""

    rule: str
    severity: Severity
    severity_source: str
    kind: str
    message: str
    path: str | None
    line: int | None
    package: str | None = None
    installed_version: str | None = None
    fixed_version: str | None = None
    purl: str | None = None
    aliases: tuple[str, ...] = ()
    target: str | None = (
        None  # the scanned target (Trivy result Target / SARIF artifact): ignore-file paths
    )
    pkg_path: str | None = None  # Trivy JSON PkgPath (ignore-file paths are tried against both)
    image: tuple[str, str | None] | None = (
        None  # (repo digest, arch) of the scanned image, for VEX statements
    )
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def degraded(self) -> bool:
        """True when the severity came from a CVSS score or the SARIF level, not from the scanner's word."""
        return self.severity_source in ("security-severity", "level")


def _word(text: str | None) -> Severity | None:
    return _SEVERITY_WORDS.get(text.strip().upper()) if text else None


def _severity_line(text: str | None) -> Severity | None:
    if not text:
        return None
    match = _SEVERITY_LINE.search(text)
    return _word(match.group(1)) if match else None


def _cvss(score: str | float | None) -> Severity | None:
    if score is None:
        return None
    try:
        value = float(score)
    except ValueError:
        return None
    if value >= 9.0:
        return Severity.CRITICAL
    if value >= 7.0:
        return Severity.HIGH
    if value >= 4.0:
        return Severity.MEDIUM
    if value > 0.0:
        return Severity.LOW
    return Severity.UNKNOWN


def _fields(text: str | None) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in _FIELD_LINE.finditer(text or "")}


def _kind(rule: Rule | None, message: str) -> str:
    tags = [t.lower() for t in (rule.properties.tags or [])] if rule and rule.properties else []
    for kind in _KINDS:
        if kind in tags:
            return kind
    name = (rule.name or "").lower() if rule else ""
    for kind in _KINDS:
        if kind in name:
            return kind
    if message.startswith("Artifact:") and "\nType: " in message:
        return "misconfiguration"
    return "vulnerability"


def _rule_lookup(run: Run) -> tuple[list[Rule], dict[str, Rule]]:
    rules = list(run.tool.driver.rules or []) if run.tool and run.tool.driver else []
    by_id: dict[str, Rule] = {}
    for rule in rules:
        if rule.id is not None:
            by_id[rule.id] = rule
    return rules, by_id


def _sarif_findings(doc: ScanDocument, name: str) -> Iterator[RawFinding]:
    for run_index, run in enumerate(doc.runs or []):
        if run.tool is None or run.tool.driver is None:
            raise InputError(
                name, f"runs[{run_index}]: missing 'tool.driver' (required by SARIF 2.1.0)"
            )
        tool = run.tool.driver.name or "unknown"
        rules, by_id = _rule_lookup(run)
        facts: dict[int, _RuleFacts] = {}
        digests = (run.properties or {}).get("repoDigests") or []
        image = (
            (digests[0], None)
            if isinstance(digests, list) and digests and isinstance(digests[0], str)
            else None
        )
        for index, result in enumerate(run.results or []):
            raw = _sarif_finding(
                result, rules, by_id, facts, name, f"runs[{run_index}].results[{index}]", tool
            )
            yield dataclasses.replace(raw, image=image) if image else raw


@dataclass(frozen=True)
class _RuleFacts:
    """What a rule says, parsed once per rule rather than once per result (help texts are long)."""

    tag_severity: Severity | None
    help_severity: Severity | None
    help_fields: dict[str, str]


def _rule_facts(rule: Rule) -> _RuleFacts:
    tags = rule.properties.tags if rule.properties and rule.properties.tags else []
    help_text = rule.help.text if rule.help else None
    return _RuleFacts(
        tag_severity=next((s for s in map(_word, tags) if s is not None), None),
        help_severity=_severity_line(help_text),
        help_fields=_fields(help_text),
    )


_NO_RULE = _RuleFacts(None, None, {})


def _sarif_finding(
    result: SarifResult,
    rules: list[Rule],
    by_id: dict[str, Rule],
    cache: dict[int, _RuleFacts],
    name: str,
    pointer: str,
    tool: str,
) -> RawFinding:
    rule: Rule | None = None
    if result.rule_index is not None and 0 <= result.rule_index < len(rules):
        candidate = rules[result.rule_index]
        if result.rule_id is None or candidate.id == result.rule_id:
            rule = candidate
    if rule is None and result.rule_id is not None:
        rule = by_id.get(result.rule_id)
    rule_id = result.rule_id or (rule.id if rule else None)
    if rule_id is None:
        raise InputError(name, f"{pointer}: result has neither 'ruleId' nor a valid 'ruleIndex'")
    if result.message is None or result.message.text is None:
        raise InputError(name, f"{pointer}: result has no 'message.text' (required by SARIF 2.1.0)")
    message = result.message.text
    if rule is None:
        facts = _NO_RULE
    else:
        facts = cache.get(id(rule)) or cache.setdefault(id(rule), _rule_facts(rule))

    bracket = _BRACKET_PREFIX.match(rule_id)
    clean_id = bracket.group(2) if bracket else rule_id
    package_from_id = None
    with_pkg = _ID_WITH_PACKAGE.match(clean_id)
    if with_pkg:
        clean_id, package_from_id = with_pkg.group(1), with_pkg.group(2)

    severity, source = _severity_line(message), "message"
    if severity is None:
        severity, source = facts.tag_severity, "rule-tags"
    if severity is None:
        severity, source = facts.help_severity, "rule-help"
    if severity is None and bracket:
        severity, source = _word(bracket.group(1)), "rule-id"
    if severity is None and rule and rule.properties:
        severity, source = _cvss(rule.properties.security_severity), "security-severity"
    if severity is None:
        level = result.level or (
            rule.default_configuration.level if rule and rule.default_configuration else None
        )
        severity, source = _LEVEL_FALLBACK.get(level or "", Severity.CRITICAL), "level"

    # Per-result fields first; the rule's help only for what the result does not say.
    fields = {**facts.help_fields, **_fields(message)}
    location = result.locations[0].physical_location if result.locations else None
    uri = location.artifact_location.uri if location and location.artifact_location else None
    line = location.region.start_line if location and location.region else None
    kind = _kind(rule, message)
    package = fields.get("Package") or package_from_id
    fixed = fields.get("Fixed Version")
    if kind == "vulnerability" and package:
        installed = fields.get("Installed Version")
        text = f"{clean_id} in {package}" + (f" {installed}" if installed else "")
        text += (
            f" (fixed in {fixed})"
            if fixed
            else " (no fix available)"
            if "Fixed Version" in fields
            else ""
        )
    else:
        title = (
            rule.short_description.text
            if rule and rule.short_description and rule.short_description.text
            else None
        )
        text = f"{clean_id}: {title}" if title else clean_id
    return RawFinding(
        rule=clean_id,
        severity=severity,
        severity_source=source,
        kind=kind,
        message=text,
        path=uri,
        line=line if kind in ("misconfiguration", "secret") else None,
        target=uri,
        package=package,
        installed_version=fields.get("Installed Version"),
        fixed_version=fixed if "Fixed Version" in fields else None,
        extra={"tool": tool, "pointer": pointer, "has_fixed_field": "Fixed Version" in fields},
    )


def _trivy_findings(doc: ScanDocument) -> Iterator[RawFinding]:
    meta = doc.metadata
    digest = meta.repo_digests[0] if meta and meta.repo_digests else None
    arch = meta.image_config.architecture if meta and meta.image_config else None
    image = (digest, arch) if digest else None
    for target_index, target in enumerate(doc.results or []):
        for raw in _trivy_target(target, target_index):
            yield dataclasses.replace(raw, target=target.target, image=image)


def _trivy_severity(text: str | None) -> tuple[Severity, str]:
    word = _word(text)
    return (word, "trivy-json") if word is not None else (Severity.UNKNOWN, "trivy-json")


def _trivy_target(target: TrivyResult, target_index: int) -> Iterator[RawFinding]:
    where = target.target
    for i, vuln in enumerate(target.vulnerabilities or []):
        vid = vuln.vulnerability_id or "unidentified"
        severity, source = _trivy_severity(vuln.severity)
        fixed = vuln.fixed_version or ""
        text = f"{vid} in {vuln.pkg_name} {vuln.installed_version or ''}".rstrip()
        text += f" (fixed in {fixed})" if fixed else " (no fix available)"
        yield RawFinding(
            rule=vid,
            severity=severity,
            severity_source=source,
            kind="vulnerability",
            message=text,
            path=vuln.pkg_path or where,
            line=None,
            package=vuln.pkg_name,
            pkg_path=vuln.pkg_path,
            installed_version=vuln.installed_version,
            fixed_version=fixed,
            purl=vuln.pkg_identifier.purl if vuln.pkg_identifier else None,
            extra={
                "pointer": f"Results[{target_index}].Vulnerabilities[{i}]",
                "has_fixed_field": True,
                "status": vuln.status,
            },
        )
    for i, mis in enumerate(target.misconfigurations or []):
        if (mis.status or "FAIL").upper() != "FAIL":
            continue
        mid = mis.id or mis.avd_id or "unidentified"
        severity, source = _trivy_severity(mis.severity)
        aliases = tuple(a for a in (mis.avd_id,) if a and a != mid)
        yield RawFinding(
            rule=mid,
            severity=severity,
            severity_source=source,
            kind="misconfiguration",
            message=f"{mid}: {mis.message or mis.title or ''}".rstrip(": "),
            path=where,
            line=mis.cause_metadata.start_line if mis.cause_metadata else None,
            aliases=aliases,
            extra={"pointer": f"Results[{target_index}].Misconfigurations[{i}]"},
        )
    for i, secret in enumerate(target.secrets or []):
        sid = secret.rule_id or "unidentified"
        severity, source = _trivy_severity(secret.severity)
        yield RawFinding(
            rule=sid,
            severity=severity,
            severity_source=source,
            kind="secret",
            message=f"{sid}: {secret.title or 'secret'}",
            path=where,
            line=secret.start_line,
            extra={"pointer": f"Results[{target_index}].Secrets[{i}]"},
        )
    for i, lic in enumerate(target.licenses or []):
        lid = lic.name or "unidentified"
        severity, source = _trivy_severity(lic.severity)
        yield RawFinding(
            rule=lid,
            severity=severity,
            severity_source=source,
            kind="license",
            message=f"licence {lid} in {lic.pkg_name or lic.file_path or where}",
            path=lic.file_path or where,
            line=None,
            package=lic.pkg_name,
            extra={"pointer": f"Results[{target_index}].Licenses[{i}]"},
        )


def raw_findings(doc: ScanDocument, name: str) -> list[RawFinding]:
    """Every result of the report as a RawFinding; InputError for results SARIF requires fields of."""
    return list(_sarif_findings(doc, name) if doc.is_sarif else _trivy_findings(doc))


def unfixed_waiver(raw: RawFinding) -> Waiver | None:
    """``--ignore-unfixed``: a vulnerability whose report says it has no fixed version."""
    if raw.kind == "vulnerability" and raw.extra.get("has_fixed_field") and not raw.fixed_version:
        return Waiver(
            reason="no fixed version available (--ignore-unfixed)", source="--ignore-unfixed"
        )
    return None


def evaluate(
    doc: ScanDocument,
    subject: str,
    *,
    fail_on: Sequence[Severity] = DEFAULT_FAIL_ON,
    waivers: Sequence[WaiverSource] = (),
    now: datetime | None = None,  # noqa: ARG001 - waiver sources carry their own clock; kept for symmetry
) -> CheckResult:
    """Turn one decoded report into a CheckResult. ``verdict`` is ``fail`` when an unwaived finding has a
    severity in ``fail_on``; the policy makes the final decision from the same facts."""
    findings: list[Finding] = []
    counts: Counter[str] = Counter()
    unwaived: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    degraded = 0
    waived_total = 0
    for raw in raw_findings(doc, subject):
        waiver = next((w for w in (source(raw) for source in waivers) if w is not None), None)
        severity = _VALUE[raw.severity]
        counts[severity] += 1
        kinds[raw.kind] += 1
        degraded += raw.degraded
        if waiver is None:
            unwaived[severity] += 1
        else:
            waived_total += 1
        properties: dict[str, object] = {"kind": raw.kind, "severity_source": raw.severity_source}
        if raw.degraded:
            properties["degraded"] = True
        for key in ("package", "installed_version", "fixed_version", "purl"):
            value = getattr(raw, key)
            if value:
                properties[key] = value
        if waiver is not None:
            properties["waived_by"] = waiver.source
        findings.append(
            Finding(
                rule=raw.rule,
                severity=raw.severity,
                message=raw.message,
                location=Location(path=raw.path, line=raw.line, column=None) if raw.path else None,
                waived=waiver is not None,
                waiver_reason=waiver.reason if waiver else None,
                properties=properties,
            )
        )
    fail_values = {s.value for s in fail_on}
    failing = sum(n for sev, n in unwaived.items() if sev in fail_values)
    facts = {
        "format": "sarif" if doc.is_sarif else "trivy-json",
        "total": len(findings),
        "counts": dict(counts),
        "unwaived": dict(unwaived),
        "waived": waived_total,
        "degraded": degraded,
        "kinds": dict(kinds),
        "fail_on": sorted(fail_values, key=lambda v: -Severity(v).rank),
        "failing": failing,
    }
    return CheckResult(
        check=CHECK_ID,
        subject=subject,
        verdict="fail" if failing else "pass",
        findings=tuple(findings),
        facts=facts,
    )


def ignore_file_waiver(rules: Sequence[IgnoreRule], now: datetime) -> WaiverSource:
    """A waiver source for trivy ignore-file rules (plain or YAML), with trivy's expiry semantics."""
    from verifier.sources.trivyignore import find_waiver

    def waiver(raw: RawFinding) -> Waiver | None:
        rule = find_waiver(
            rules,
            finding_id=raw.rule,
            kind=raw.kind,
            path=raw.target or raw.path,
            pkg_path=raw.pkg_path,
            purl=raw.purl,
            now=now,
            aliases=raw.aliases,
        )
        if rule is None:
            return None
        return Waiver(reason=rule.statement or f"listed in {rule.source}", source=rule.source)

    return waiver


def vex_waiver(documents: Sequence[VexDocument]) -> WaiverSource:
    """A waiver source for VEX documents: only ``not_affected`` and ``fixed`` statements waive."""
    from verifier.sources.vex import find_suppression, image_purl

    purls: dict[tuple[str, str | None], str | None] = {}

    def waiver(raw: RawFinding) -> Waiver | None:
        if raw.kind != "vulnerability":
            return None
        image = None
        if raw.image is not None:
            image = purls.get(raw.image) or purls.setdefault(raw.image, image_purl(*raw.image))
        parents = (image,) if image else ()
        statement = find_suppression(
            documents, vulnerability=raw.rule, purl=raw.purl, parents=parents
        )
        if statement is None:
            return None
        why = f": {statement.justification}" if statement.justification else ""
        return Waiver(
            reason=f"VEX {statement.status}{why} ({statement.source})", source=statement.source
        )

    return waiver


# --- the check as the pipeline runs it -------------------------------------------------------------------


def _no_input_result(subject: str, reason: str) -> CheckResult:
    return CheckResult(check=CHECK_ID, subject=subject, verdict="error", facts={"error": reason})


# From least to most severe, as thresholds read them (trivy --severity, grype --fail-on).
_THRESHOLD_ORDER: tuple[Severity, ...] = (
    Severity.UNKNOWN,
    Severity.LOW,
    Severity.MEDIUM,
    Severity.HIGH,
    Severity.CRITICAL,
)


def fail_on_levels(value: str | Sequence[str]) -> tuple[Severity, ...]:
    """The severities that deny, from a threshold (``high`` = high and above) or a list of levels.

    A list is accepted only when it is closed upwards: naming a level but leaving out a more severe one
    (``low,medium``) would let critical findings pass unnoticed, so it is an error (ValueError).
    """
    names = [value] if isinstance(value, str) else list(value)
    names = [n.strip().lower() for part in names for n in part.split(",") if n.strip()]
    if not names:
        raise ValueError("fail_on: name a severity (critical, high, medium, low, unknown)")
    try:
        levels = {Severity(n) for n in names}
    except ValueError:
        raise ValueError(
            f"fail_on: expected critical, high, medium, low or unknown; got {', '.join(names)}"
        ) from None
    if Severity.INFO in levels:
        raise ValueError("fail_on: expected critical, high, medium, low or unknown; got info")
    lowest = min(_THRESHOLD_ORDER.index(level) for level in levels)
    expected = _THRESHOLD_ORDER[lowest:]
    missing = [level.value for level in expected if level not in levels]
    if len(names) > 1 and missing:
        raise ValueError(
            f"fail_on: {', '.join(names)} leaves out the more severe {', '.join(missing)}; "
            f"give the threshold alone ({_THRESHOLD_ORDER[lowest].value} means "
            f"{_THRESHOLD_ORDER[lowest].value} and above)"
        )
    return tuple(reversed(expected))


@dataclasses.dataclass(frozen=True, kw_only=True)
class SarifSection:
    """Scanner reports (check `sarif-severity`): Trivy SARIF or Trivy JSON."""

    __pydantic_config__ = STRICT

    files: tuple[str, ...] = ()
    """SARIF 2.1.0 or Trivy JSON reports; a missing file is exit 2 (`verifier check sarif` takes them from
    its arguments; an empty list in the gate gives verdict error)."""
    fail_on: str | tuple[str, ...] = "high"
    """The lowest severity that denies: critical, high, medium, low or unknown (`high` = high and
    critical). A list is accepted when it leaves out no level more severe than one it names."""
    ignore_files: tuple[str, ...] = ()
    """.trivyignore / .trivyignore.yaml files (Trivy's semantics, with expiry)."""
    vex: tuple[str, ...] = ()
    """OpenVEX, CycloneDX VEX or CSAF VEX documents."""
    ignore_unfixed: bool = False
    """Waive vulnerabilities that have no fixed version."""
    deny_ids: tuple[str, ...] = ()
    """Ids that deny at any severity unless waived."""
    max_size: int = dataclasses.field(default=64, metadata={"ge": 1})
    """Refuse report files larger than this many MiB (checked before parsing)."""

    def __post_init__(self) -> None:
        fail_on_levels(self.fail_on)

    @property
    def levels(self) -> tuple[Severity, ...]:
        """The severities that deny, most severe first."""
        return fail_on_levels(self.fail_on)


@dataclasses.dataclass(frozen=True)
class SarifEvidence:
    """The decoded reports (by path) and the waivers read from ignore files and VEX documents."""

    reports: tuple[tuple[str, ScanDocument], ...]
    waivers: tuple[WaiverSource, ...]
    ignore_file_problems: tuple[str, ...]


class SarifSeverityCheck(Check[SarifSection, SarifEvidence]):
    """``sarif-severity``: every report's findings within the severity policy."""

    meta = META
    section_type = SarifSection

    def collect(self, section: SarifSection, ctx: RunContext) -> SarifEvidence:
        """Read the waivers, then every report (size-capped before parsing)."""
        from verifier.sources.files import MIB
        from verifier.sources.sarif_waivers import load_sarif_waivers
        from verifier.sources.scan_reports import load_scan_report

        waivers, problems = load_sarif_waivers(
            section.ignore_files, section.vex, section.ignore_unfixed, ctx.now
        )
        for path in section.ignore_files:
            ctx.record_input(path, "ignore-file")
        for path in section.vex:
            ctx.record_input(path, "vex")
        reports = []
        for path in section.files:
            reports.append((path, load_scan_report(path, section.max_size * MIB)))
            ctx.record_input(path, "scan-report")
        return SarifEvidence(tuple(reports), tuple(waivers), tuple(problems))

    def judge(
        self, evidence: SarifEvidence, section: SarifSection, ctx: RunContext
    ) -> list[CheckResult]:
        """One result per report; an error result when no report is configured."""
        if not evidence.reports:
            return [_no_input_result("sarif.files", "no scan report configured")]
        return [
            evaluate(doc, path, fail_on=section.levels, waivers=evidence.waivers, now=ctx.now)
            for path, doc in evidence.reports
        ]

    def policy_config(
        self, section: SarifSection, evidence: SarifEvidence | None
    ) -> dict[str, Any]:
        """fail_on (every level that denies), deny_ids and the malformed ignore-file lines."""
        return {
            "fail_on": [level.value for level in section.levels],
            "deny_ids": list(section.deny_ids),
            "ignore_file_problems": list(evidence.ignore_file_problems) if evidence else [],
        }

    def subject(self, section: SarifSection, ctx: RunContext) -> str:
        """The report files."""
        return ", ".join(section.files)


CHECK = SarifSeverityCheck()
