"""Check ``sarif-severity``: scanner findings (SARIF, Trivy JSON, cosign-vuln) within the severity policy,
from a scan that ran, of the gated image.

Pure: takes a read report (:class:`~verifier.sources.scan_reports.ScanReport`) plus parsed waiver files and
returns one CheckResult per report. Every result of every run becomes one finding (results are counted, not
rules). The Trivy severity of a result is taken from the first of these that has one (per-result data
before rule data, because Trivy overwrites a rule with the data of the last result that shares its id):

1. ``Severity: X`` in the result message (current Trivy SARIF writer);
2. a severity word among the rule's tags (template-era Trivy, other tag positions);
3. ``Severity: X`` in the rule help (template-era Trivy, grype, anchore);
4. an ``[X]`` prefix on the rule id (the earliest contrib/sarif.tpl);
5. ``security-severity`` (CVSS score) or the SARIF ``level``, reported as *degraded*: ``level`` alone cannot
   tell CRITICAL from HIGH (both are ``error``), so ``error`` is read as critical to fail closed.

Rules are looked up in the tool component the result names (``rule.toolComponent``: the driver, or one of
``tool.extensions`` as CodeQL packs write them), by index and then by id.

Besides the findings, the facts say what the policy needs to deny a report that proves nothing:

* ``not_run``: the log has no runs, a run has no ``results`` (SARIF: absent means not computed, ``[]``
  means none found), or an invocation says ``executionSuccessful: false``;
* ``image_binding``: with ``image_digests`` given (the digests of the release's images; an index that
  contains a gated manifest would belong there too), whether every scan names one of them in its repository
  digests (``bound``), names none (``unbound``), or names another image (``mismatch``); ``not-checked`` when
  no image is gated;
* ``scanned_at``: when the oldest scan finished (UTC), for ``max_age`` in the policy.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from msgspec import UnsetType

from verifier.checks import registry
from verifier.checks._base import Check, RunContext
from verifier.errors import InputError
from verifier.models import CheckResult, Finding, Location, Severity
from verifier.models.config import STRICT
from verifier.sources.scan_reports import (
    COSIGN_VULN_PREDICATE,
    Rule,
    Run,
    SarifResult,
    ScannedArtifact,
    ScanRecord,
    ScanReport,
    ToolComponentReference,
    TrivyResult,
    WaiverInputs,
)

if TYPE_CHECKING:
    from verifier.checks.signature import SignaturePolicy
    from verifier.models.evidence import ImageEvidence
    from verifier.sources.vex import VexDocument

CHECK_ID = "sarif-severity"
META = registry.get(CHECK_ID)

DEFAULT_FAIL_ON: tuple[Severity, ...] = (Severity.CRITICAL, Severity.HIGH)
# The levels a scanner reports, most severe first (Trivy's order: UNKNOWN sorts below LOW).
SCANNER_LEVELS: tuple[Severity, ...] = (
    Severity.CRITICAL,
    Severity.HIGH,
    Severity.MEDIUM,
    Severity.LOW,
    Severity.UNKNOWN,
)
_LEVEL_NAMES = ", ".join(s.value for s in SCANNER_LEVELS)


def fail_on_levels(value: str | Sequence[str]) -> tuple[Severity, ...]:
    """The severities ``--fail-on`` / ``fail_on`` denies, most severe first, read as grype and Trivy users
    read a threshold: one level means that level and every more severe one (``high`` -> critical, high).

    A list (a sequence, or a comma-separated string) is accepted only when it leaves out no level more
    severe than one it names (``critical,high,medium``); ``low,medium`` raises ValueError, because read
    as written it would let critical findings through without a word. Names are case-insensitive.
    """
    items = [value] if isinstance(value, str) else [str(v) for v in value]
    names = [name.strip().lower() for item in items for name in item.split(",") if name.strip()]
    if not names:
        raise ValueError(f"fail_on: name a severity ({_LEVEL_NAMES})")
    unknown = [n for n in names if n not in _SCANNER_LEVEL_BY_NAME]
    if unknown:
        raise ValueError(
            f"fail_on: expected critical, high, medium, low or unknown; got {', '.join(unknown)}"
        )
    named = {_SCANNER_LEVEL_BY_NAME[n] for n in names}
    least = min(named, key=lambda s: s.rank)
    levels = tuple(s for s in SCANNER_LEVELS if s.rank >= least.rank)
    left_out = [s.value for s in reversed(levels) if s not in named]
    if len(named) > 1 and left_out:
        raise ValueError(
            f"fail_on: {', '.join(names)} leaves out the more severe {', '.join(left_out)}; give "
            f"the threshold alone ({least.value} means {least.value} and above)"
        )
    return levels


_SCANNER_LEVEL_BY_NAME = {s.value: s for s in SCANNER_LEVELS}

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


class _RuleIndex:
    """The rules of a run's driver and extensions, looked up as SARIF 2.1.0 says: ``ruleIndex`` (or
    ``rule.index``) points into the rules of the component ``rule.toolComponent`` names (the driver when
    absent); a result whose index does not hold its ``ruleId`` is looked up by id."""

    def __init__(self, run: Run) -> None:
        self.components = [run.tool.driver, *(run.tool.extensions or [])]
        self.rules = [list(component.rules or []) for component in self.components]
        self.by_id: list[dict[str, Rule]] = [
            {rule.id: rule for rule in rules} for rules in self.rules
        ]
        self.any_id: dict[str, Rule] = {}
        for by_id in reversed(self.by_id):
            self.any_id.update(by_id)

    def _component(self, ref: ToolComponentReference | UnsetType) -> int | None:
        if isinstance(ref, UnsetType):
            return 0
        if not isinstance(ref.index, UnsetType):
            return ref.index + 1 if 0 <= ref.index < len(self.components) - 1 else None
        for i, component in enumerate(self.components):
            if (ref.guid and component.guid == ref.guid) or (
                ref.name and component.name == ref.name
            ):
                return i
        return None

    def find(self, result: SarifResult, rule_id: str | None) -> Rule | None:
        ref = result.rule
        if isinstance(ref, UnsetType):  # the common case (Trivy, grype): the driver's rules
            component: int | None = 0
            index = result.rule_index
        else:
            component = self._component(ref.tool_component)
            index = ref.index if not isinstance(ref.index, UnsetType) else result.rule_index
        if (
            component is not None
            and not isinstance(index, UnsetType)
            and 0 <= index < len(self.rules[component])
        ):
            candidate = self.rules[component][index]
            if rule_id is None or candidate.id == rule_id:
                return candidate
        if rule_id is None:
            return None
        if component is not None and rule_id in self.by_id[component]:
            return self.by_id[component][rule_id]
        return self.any_id.get(rule_id)


def _sarif_findings(report: ScanReport, name: str) -> Iterator[RawFinding]:
    for run_index, (run, record) in enumerate(zip(report.runs, report.scans, strict=True)):
        tool = run.tool.driver.name or "unknown"
        rules = _RuleIndex(run)
        facts: dict[int, _RuleFacts] = {}
        image = _vex_image(record.artifact, None)
        for index, result in enumerate(run.results or []):
            raw = _sarif_finding(
                result, rules, facts, name, f"runs[{run_index}].results[{index}]", tool
            )
            yield dataclasses.replace(raw, image=image) if image else raw


def _vex_image(artifact: ScannedArtifact | None, arch: str | None) -> tuple[str, str | None] | None:
    """(first repo digest, architecture) of the scanned image: the root VEX statements may name."""
    if artifact is None or not artifact.repo_digests:
        return None
    return (artifact.repo_digests[0], arch)


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


_T = TypeVar("_T")


def _given(value: _T | UnsetType) -> _T | None:
    """A SARIF field's value, ``None`` when absent."""
    return None if isinstance(value, UnsetType) else value


def _sarif_finding(
    result: SarifResult,
    rules: _RuleIndex,
    cache: dict[int, _RuleFacts],
    name: str,
    pointer: str,
    tool: str,
) -> RawFinding:
    given_id = _given(result.rule_id) or (_given(result.rule.id) if result.rule else None)
    rule = rules.find(result, given_id)
    rule_id = given_id or (rule.id if rule else None)
    if rule_id is None:
        raise InputError(name, f"{pointer}: result has neither 'ruleId' nor a valid 'ruleIndex'")
    if isinstance(result.message.text, UnsetType):
        # SARIF allows a message by id (the rule's messageStrings): not read here.
        raise InputError(
            name, f"{pointer}: result has no 'message.text' (a message by id is not read)"
        )
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
    uri = (
        _given(location.artifact_location.uri) if location and location.artifact_location else None
    )
    line = _given(location.region.start_line) if location and location.region else None
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


def _trivy_findings(report: ScanReport) -> Iterator[RawFinding]:
    doc = report.trivy
    meta = doc.metadata
    arch = meta.image_config.architecture if meta and meta.image_config else None
    image = _vex_image(report.scans[0].artifact if report.scans else None, arch)
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


def raw_findings(report: ScanReport, name: str) -> list[RawFinding]:
    """Every result of the report as a RawFinding; InputError for results SARIF requires fields of."""
    return list(_sarif_findings(report, name) if report.is_sarif else _trivy_findings(report))


# --- waivers -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiver:
    """Why a finding is waived, as decided by one waiver source."""

    reason: str
    source: str


# A waiver source answers: is this finding waived? -> Waiver | None
WaiverSource = Callable[["RawFinding"], Waiver | None]


def unfixed_waiver(raw: RawFinding) -> Waiver | None:
    """``--ignore-unfixed``: a vulnerability whose report says it has no fixed version."""
    if raw.kind == "vulnerability" and raw.extra.get("has_fixed_field") and not raw.fixed_version:
        return Waiver(
            reason="no fixed version available (--ignore-unfixed)", source="--ignore-unfixed"
        )
    return None


def ignore_file_waiver(inputs: WaiverInputs, now: datetime) -> WaiverSource:
    """A waiver source for trivy ignore-file rules (plain or YAML), with trivy's expiry semantics."""
    from verifier.checks.sarif_waivers import find_ignore_rule

    rules = inputs.ignore_rules

    def waiver(raw: RawFinding) -> Waiver | None:
        rule = find_ignore_rule(
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


def vex_waiver(inputs: WaiverInputs) -> WaiverSource:
    """A waiver source for VEX documents: only ``not_affected`` and ``fixed`` statements waive."""
    from verifier.checks.sarif_waivers import find_suppression, image_purl

    documents = inputs.vex
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


def waiver_sources(
    waivers: WaiverInputs | None, *, ignore_unfixed: bool, now: datetime | None
) -> list[WaiverSource]:
    """The waiver sources in the order they are asked: ignore files, VEX, ``--ignore-unfixed``."""
    sources: list[WaiverSource] = []
    if waivers is not None and waivers.ignore_rules:
        if now is None:
            raise ValueError("sarif-severity: 'now' is needed to judge ignore-file expiry dates")
        sources.append(ignore_file_waiver(waivers, now))
    if waivers is not None and waivers.vex:
        sources.append(vex_waiver(waivers))
    if ignore_unfixed:
        sources.append(unfixed_waiver)
    return sources


# --- did the scan run, and of which image ----------------------------------------------------------

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")


def canonical_digest(value: str) -> str | None:
    """``sha256:<hex>`` (or sha512) in lower case from a digest or a ``repo@digest``; ``None`` if there is
    none."""
    digest = value.strip().rpartition("@")[2].lower()
    return digest if _DIGEST.fullmatch(digest) else None


def not_run_reasons(report: ScanReport) -> list[str]:
    """Why a SARIF log does not prove that a scan ran and finished (empty when it does)."""
    if not report.is_sarif:
        return []
    runs = report.runs
    if not runs:
        return ["the SARIF log has no runs: no scan is recorded"]
    reasons = []
    for i, run in enumerate(runs):
        if isinstance(run.results, UnsetType):
            reasons.append(
                f"runs[{i}] has no 'results': the scan's results were not computed "
                "(SARIF: an absent list means not computed, [] means none found)"
            )
        for j, invocation in enumerate(run.invocations or []):
            if invocation.execution_successful is False:
                reasons.append(
                    f"runs[{i}].invocations[{j}]: executionSuccessful is false: the scan did not "
                    "finish"
                )
    return reasons


def _artifact_facts(artifact: ScannedArtifact | None) -> dict[str, Any] | None:
    if artifact is None:
        return None
    out: dict[str, Any] = {"repo_digests": list(artifact.repo_digests)}
    if artifact.name:
        out["name"] = artifact.name
    if artifact.image_id:
        out["image_id"] = artifact.image_id
    if artifact.repo_tags:
        out["repo_tags"] = list(artifact.repo_tags)
    return out


def _scan_facts(record: ScanRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "pointer": record.pointer,
        "image": _artifact_facts(record.artifact),
        "scanned_at": rfc3339(record.scanned_at) if record.scanned_at else None,
    }
    if record.attested:
        out["attested"] = list(record.attested)
    return out


def _binding(record: ScanRecord, gated: frozenset[str]) -> tuple[str, str | None, frozenset[str]]:
    """(bound | unbound | mismatch, problem, the gated digests it names) for one scan."""
    artifact = record.artifact
    repo_digests = artifact.repo_digests if artifact else ()
    digests = [d for d in (canonical_digest(r) for r in repo_digests) if d]
    attested = [d for d in (canonical_digest(a) for a in record.attested) if d]
    if attested and digests and not set(attested) & set(digests):
        # The statement is about one image and the scan inside it about another.
        problem = (
            f"{record.pointer} is a scan of {', '.join(repo_digests)}, but its attestation is about "
            f"{', '.join(record.attested)}"
        )
        return "mismatch", problem, frozenset()
    digests += attested
    named = gated.intersection(digests)
    if named:
        return "bound", None, named
    if digests:
        names = ", ".join((*repo_digests, *record.attested))
        return "mismatch", f"{record.pointer} is a scan of {names}, not of the gated image", named
    said = []
    if artifact and artifact.name:
        said.append(f"image {artifact.name}")
    if artifact and artifact.image_id:
        said.append(f"image ID {artifact.image_id}")
    what = f"names {' and '.join(said)} but no repository digest" if said else "names no image"
    return "unbound", f"{record.pointer} {what}", named


def image_binding(report: ScanReport, image_digests: Collection[str] | None) -> dict[str, Any]:
    """Whether the report is a scan of a gated image: ``status`` is ``bound`` (every scan names one of
    ``image_digests``), ``unbound``, ``mismatch`` or ``not-checked`` (no image gated); ``problems`` say which
    scan and why; ``bound_to`` lists the gated digests its scans name (the policy checks that every image
    of a release has a report)."""
    if image_digests is None:
        return {"status": "not-checked", "gated": [], "bound_to": [], "problems": []}
    gated = set()
    for value in image_digests:
        digest = canonical_digest(value)
        if digest is None:
            raise ValueError(f"sarif-severity: {value!r} is not an image digest (sha256:<hex>)")
        gated.add(digest)
    statuses: list[str] = []
    problems: list[str] = []
    bound_to: set[str] = set()
    for record in report.scans:
        status, problem, named = _binding(record, frozenset(gated))
        statuses.append(status)
        bound_to |= named
        if problem:
            problems.append(problem)
    if not report.scans:
        statuses.append("unbound")
        problems.append("the report records no scan")
    status = next((s for s in ("mismatch", "unbound") if s in statuses), "bound")
    return {
        "status": status,
        "gated": sorted(gated),
        "bound_to": sorted(bound_to),
        "problems": problems,
    }


def rfc3339(moment: datetime) -> str:
    """UTC, ``Z``, microseconds only when there are some: the form both Rego engines parse alike."""
    fraction = f".{moment.microsecond:06d}" if moment.microsecond else ""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def _scanned_at(report: ScanReport) -> str | None:
    """The oldest scan time; ``None`` when any scan (or the report) does not say."""
    times = [record.scanned_at for record in report.scans]
    if not times or any(t is None for t in times):
        return None
    return rfc3339(min(t for t in times if t is not None))


# --- the check -------------------------------------------------------------------------------------------


def evaluate(
    report: ScanReport,
    subject: str,
    *,
    fail_on: str | Sequence[str] = DEFAULT_FAIL_ON,
    waivers: WaiverInputs | None = None,
    ignore_unfixed: bool = False,
    now: datetime | None = None,
    image_digests: Collection[str] | None = None,
) -> CheckResult:
    """Turn one read report into a CheckResult.

    ``fail_on`` is read by :func:`fail_on_levels`; ``now`` is needed when ignore files have rules (their
    expiry). ``image_digests``: the digests a scan of the gated image may name (the manifest digest, or
    the index that contains it); ``None`` when no image is gated. ``verdict`` is ``fail`` when an unwaived
    finding is at a ``fail_on`` severity, when the log does not prove the scan ran, or when it is not
    bound to the gated image; the policy makes the final decision from the same facts. Raises
    InputError for a report SARIF calls malformed, ValueError for a bad ``fail_on`` or digest.
    """
    levels = fail_on_levels(fail_on)
    sources = waiver_sources(waivers, ignore_unfixed=ignore_unfixed, now=now)
    findings: list[Finding] = []
    counts: Counter[str] = Counter()
    unwaived: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    degraded = 0
    waived_total = 0
    for raw in raw_findings(report, subject):
        waiver = next((w for w in (source(raw) for source in sources) if w is not None), None)
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
    fail_values = [s.value for s in levels]
    failing = sum(n for sev, n in unwaived.items() if sev in fail_values)
    not_run = not_run_reasons(report)
    binding = image_binding(report, image_digests)
    facts = {
        "format": report.format,
        "scanner": report.scanner,
        "total": len(findings),
        "counts": dict(counts),
        "unwaived": dict(unwaived),
        "waived": waived_total,
        "degraded": degraded,
        "kinds": dict(kinds),
        "fail_on": fail_values,
        "failing": failing,
        "not_run": not_run,
        "image_binding": binding,
        "scanned_at": _scanned_at(report),
        "scans": [_scan_facts(record) for record in report.scans],
    }
    bad = failing or not_run or binding["status"] in ("mismatch", "unbound")
    return CheckResult(
        check=CHECK_ID,
        subject=subject,
        verdict="fail" if bad else "pass",
        findings=tuple(findings),
        facts=facts,
    )


# --- the check as the pipeline runs it -------------------------------------------------------------------

_GO_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+")


def _no_input_result(subject: str, reason: str) -> CheckResult:
    return CheckResult(check=CHECK_ID, subject=subject, verdict="error", facts={"error": reason})


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
    max_age: str = ""
    """Deny a report whose scan ran longer ago than this Go duration (e.g. `168h`), from `input.now`;
    a report that records no scan time (Trivy SARIF) is then denied. Empty: no limit."""
    require_image_identity: bool = True
    """With an image gated, deny a report that does not name the image's digest (false: warn). A report
    naming another image always denies."""
    attestations: bool = False
    """Also read signed scan results attached to each image of the release: the newest cosign
    vulnerability attestation (`trivy image --format cosign-vuln` + `cosign attest --type vuln`) is judged
    like a report, OpenVEX attestations waive its findings; verified with the image's signer set, as the
    SBOM attestation is. An image without a verified scan attestation is an error verdict. This is how the
    webhook and the audit gate on scan results."""

    def __post_init__(self) -> None:
        fail_on_levels(self.fail_on)
        if self.max_age and not _GO_DURATION.fullmatch(self.max_age):
            raise ValueError(f"max_age: {self.max_age!r} is not a Go duration such as 168h or 90m")

    @property
    def levels(self) -> tuple[Severity, ...]:
        """The severities that deny, most severe first."""
        return fail_on_levels(self.fail_on)


@dataclasses.dataclass(frozen=True)
class AttestedScan:
    """The scan results signed onto one image: its newest verified vulnerability report, the VEX
    documents attested on it, and what did not verify."""

    image: str
    digest: str
    report: tuple[str, ScanReport] | None
    vex: tuple[VexDocument, ...]
    problems: tuple[str, ...]
    superseded: int = 0  # older verified vulnerability attestations, not judged
    no_signer_set: bool = False


@dataclasses.dataclass(frozen=True)
class SarifEvidence:
    """The read reports (by path), the parsed waiver files, the digests a report may name (``None``
    when no image is gated), and the scans attested on each image (``sarif.attestations``)."""

    reports: tuple[tuple[str, ScanReport], ...]
    waivers: WaiverInputs
    image_digests: tuple[str, ...] | None = None
    attested: tuple[AttestedScan, ...] = ()


_OPENVEX_PREFIX = "https://openvex.dev/ns"


def attested_scan(
    image: str, evidence: ImageEvidence, policies: Sequence[SignaturePolicy], max_bytes: int
) -> AttestedScan:
    """The verified vulnerability and OpenVEX attestations of one image. Annotations only pre-select:
    a statement's own predicateType decides, after its signature, signer and subject verified."""
    from verifier.checks.sbom_attestation import any_verifier, attestations_of, make_verifier
    from verifier.sigstore.errors import VerificationFailure
    from verifier.sources.files import parse_json
    from verifier.sources.scan_reports import parse_cosign_vuln
    from verifier.sources.vex import parse_vex

    verify = any_verifier([make_verifier(p, evidence.digest) for p in policies])
    reports: list[tuple[str, ScanReport]] = []
    vex: list[VexDocument] = []
    problems: list[str] = []
    for att in attestations_of(evidence):
        hint = att.predicate_hint or ""
        if hint != COSIGN_VULN_PREDICATE and not hint.startswith(_OPENVEX_PREFIX):
            continue
        name = f"{image}@{evidence.digest} ({att.source})"
        try:
            verified = verify(att)
        except VerificationFailure as exc:
            problems.append(f"{att.source}: {hint} attestation did not verify: {exc}")
            continue
        if len(verified.payload) > max_bytes:
            problems.append(f"{att.source}: attestation over {max_bytes} bytes")
            continue
        try:
            statement = parse_json(verified.payload, name)
            predicate_type = statement.get("predicateType") if isinstance(statement, dict) else None
            if predicate_type == COSIGN_VULN_PREDICATE:
                reports.append((name, parse_cosign_vuln(verified.payload, name)))
            elif isinstance(predicate_type, str) and predicate_type.startswith(_OPENVEX_PREFIX):
                predicate = statement.get("predicate")
                vex.append(parse_vex(json.dumps(predicate).encode(), name))
            else:
                problems.append(
                    f"{att.source}: labelled {hint} but the statement is {predicate_type!r}"
                )
        except InputError as exc:
            problems.append(f"{att.source}: {exc.problem}")

    def finished(item: tuple[str, ScanReport]) -> float:
        times = [s.scanned_at.timestamp() for s in item[1].scans if s.scanned_at]
        return max(times) if times else float("-inf")

    reports.sort(key=finished)
    return AttestedScan(
        image=image,
        digest=evidence.digest,
        report=reports[-1] if reports else None,
        vex=tuple(vex),
        problems=tuple(problems),
        superseded=max(len(reports) - 1, 0),
    )


class SarifSeverityCheck(Check[SarifSection, SarifEvidence]):
    """``sarif-severity``: every report's findings within the severity policy, from a scan that ran, of
    the gated image."""

    meta = META
    section_type = SarifSection

    def reads_images(self, section: SarifSection) -> bool:
        """With ``attestations``, the scans signed onto the images are read."""
        return section.attestations

    def reads_attestations(self, section: SarifSection) -> bool:
        """With ``attestations``, the scans signed onto the images are read."""
        return section.attestations

    def collect(self, section: SarifSection, ctx: RunContext) -> SarifEvidence:
        """Read the waiver files, then every report (size-capped before parsing); with images gated, the
        digests of the release's images (a scan of one of them names its digest)."""
        from verifier.sources.files import MIB
        from verifier.sources.scan_reports import load_scan_report, load_waiver_inputs

        waivers = load_waiver_inputs(section.ignore_files, section.vex)
        for path in section.ignore_files:
            ctx.record_input(path, "ignore-file")
        for path in section.vex:
            ctx.record_input(path, "vex")
        reports = []
        for path in section.files:
            reports.append((path, load_scan_report(path, section.max_size * MIB)))
            ctx.record_input(path, "scan-report")
        release = ctx.release_evidence() if ctx.config.all_images else {}
        digests = tuple(dict.fromkeys(e.digest for e in release.values())) if release else None
        attested: list[AttestedScan] = []
        if section.attestations:
            from verifier.checks.signature import signature_policies

            for image, image_evidence in release.items():
                chosen = ctx.config.signers_for(image, ctx.signer_set)
                if chosen is None:
                    attested.append(
                        AttestedScan(image, image_evidence.digest, None, (), (), no_signer_set=True)
                    )
                    continue
                policies = signature_policies(chosen[1], ctx.now)
                scan = attested_scan(image, image_evidence, policies, section.max_size * MIB)
                attested.append(scan)
                ctx.record_input(f"{image}@{image_evidence.digest}", "scan-attestation")
        return SarifEvidence(tuple(reports), waivers, digests, tuple(attested))

    def judge(
        self, evidence: SarifEvidence, section: SarifSection, ctx: RunContext
    ) -> list[CheckResult]:
        """One result per report and per image's attested scan; an error result when there is nothing to
        judge (no report configured, no image to read attestations from, an image without one)."""
        if not evidence.reports and not section.attestations:
            return [_no_input_result("sarif.files", "no scan report configured")]
        if section.attestations and not ctx.config.all_images:
            return [
                _no_input_result("sarif.attestations", "no image to read scan attestations from")
            ]
        return [
            *self._judge_files(evidence, section, ctx),
            *self._judge_attested(evidence, section, ctx),
        ]

    def _judge_attested(
        self, evidence: SarifEvidence, section: SarifSection, ctx: RunContext
    ) -> list[CheckResult]:
        out = []
        for scan in evidence.attested:
            subject = f"{scan.image}@{scan.digest}"
            if scan.report is None:
                reason = (
                    f"no signer set applies to {scan.image}"
                    if scan.no_signer_set
                    else "no verified cosign vulnerability attestation "
                    f"({COSIGN_VULN_PREDICATE}) from the image's signers"
                )
                facts: dict[str, Any] = {
                    "error": reason,
                    "attestation_problems": list(scan.problems),
                }
                out.append(
                    CheckResult(check=CHECK_ID, subject=subject, verdict="error", facts=facts)
                )
                continue
            waivers = dataclasses.replace(evidence.waivers, vex=(*evidence.waivers.vex, *scan.vex))
            result = evaluate(
                scan.report[1],
                scan.report[0],
                fail_on=section.levels,
                waivers=waivers,
                ignore_unfixed=section.ignore_unfixed,
                now=ctx.now,
                image_digests=(scan.digest,),
            )
            extra = {
                "attested": True,
                "vex_attestations": len(scan.vex),
                "superseded_attestations": scan.superseded,
                "attestation_problems": list(scan.problems),
            }
            out.append(dataclasses.replace(result, facts={**result.facts, **extra}))
        return out

    def _judge_files(
        self, evidence: SarifEvidence, section: SarifSection, ctx: RunContext
    ) -> list[CheckResult]:
        return [
            evaluate(
                report,
                path,
                fail_on=section.levels,
                waivers=evidence.waivers,
                ignore_unfixed=section.ignore_unfixed,
                now=ctx.now,
                image_digests=evidence.image_digests,
            )
            for path, report in evidence.reports
        ]

    def policy_config(
        self, section: SarifSection, evidence: SarifEvidence | None
    ) -> dict[str, Any]:
        """fail_on (every level that denies), deny_ids, max_age, require_image_identity and the
        malformed ignore-file lines."""
        return {
            "fail_on": [level.value for level in section.levels],
            "deny_ids": list(section.deny_ids),
            "max_age": section.max_age,
            "require_image_identity": section.require_image_identity,
            "ignore_file_problems": list(evidence.waivers.ignore_problems) if evidence else [],
        }

    def subject(self, section: SarifSection, ctx: RunContext) -> str:
        """The report files."""
        return ", ".join(section.files)


CHECK = SarifSeverityCheck()
