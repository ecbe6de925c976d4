"""Audit planning and per-unit work: the command line into units, and one unit into check results.

``plan`` turns the inputs into units of work, ``audit_unit`` runs the checks on one unit (pure of printing;
safe to run in a worker process). :mod:`verifier.audit.report` aggregates the outcomes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from verifier.errors import InputError, VerifierError
from verifier.models import CheckResult
from verifier.models.config import VerifierConfig
from verifier.pipeline import SourceOptions, run_checks
from verifier.records.decision_log import DecisionRecord, is_decision_log, read_records
from verifier.records.vsa import PREDICATE_TYPE
from verifier.sources.files import MIB, read_bytes, read_text

_IMAGE_REF = re.compile(
    r"^(oci-layout:.+|[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[\w.-]+)?(@sha256:[0-9a-f]{64})?)$"
)
_REPO_MARKERS = (".github", "action.yml", "action.yaml")


@dataclass(frozen=True)
class Unit:
    """One thing to audit: a repository checkout, a decision log, a VSA file or an image reference."""

    kind: str  # "repository" | "decision-log" | "vsa" | "image" | "scan-report"
    ref: str
    repository: str  # grouping key in the per-repository table ("" for non-repository units)


@dataclass
class UnitOutcome:
    """What auditing one unit produced."""

    unit: Unit
    results: list[CheckResult] = field(default_factory=list)
    records: list[DecisionRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # (path, reason): files skipped on purpose
    not_checked: list[tuple[str, str]] = field(default_factory=list)
    digest: str | None = None
    # input.config of the unit's checks (per check id), for the audit's decisions.
    policy_config: dict[str, Any] = field(default_factory=dict)


def _is_repository(path: Path) -> bool:
    return any((path / marker).exists() for marker in _REPO_MARKERS)


def plan(inputs: Sequence[str]) -> tuple[list[Unit], list[tuple[str, str]]]:
    """Units to audit (sorted, de-duplicated) and the inputs that could not be understood (input, reason).

    A directory is a repository when it holds ``.github`` or an ``action.yml``; otherwise each immediate
    subdirectory that is one is audited as a repository (a folder of checkouts), and if there are none the
    directory itself is audited (e.g. a folder of trust policies). ``*.jsonl`` files are decision logs,
    ``*.intoto.json`` / VSA statements are gate records, ``*.sarif`` / ``*.sarif.json`` files are scan reports,
    ``*.txt`` files are image lists (one reference per line, ``#`` comments), and anything that looks like an
    image reference is an image.
    """
    units: dict[tuple[str, str], Unit] = {}
    bad: list[tuple[str, str]] = []

    def add(unit: Unit) -> None:
        units.setdefault((unit.kind, unit.ref), unit)

    for given in inputs:
        path = Path(given)
        if path.is_dir():
            if _is_repository(path):
                add(Unit("repository", given, path.resolve().name))
                continue
            children = sorted(c for c in path.iterdir() if c.is_dir() and _is_repository(c))
            for child in children:
                add(Unit("repository", os.path.join(given, child.name), child.name))
            if not children:
                add(Unit("repository", given, path.resolve().name))
        elif path.is_file():
            if is_decision_log(path):
                add(Unit("decision-log", given, ""))
            elif path.suffix == ".txt":
                try:
                    lines = read_text(given, 4 * MIB).splitlines()
                except InputError as exc:
                    bad.append((given, exc.problem))
                    continue
                for number, line in enumerate(lines, start=1):
                    ref = line.split("#", 1)[0].strip()
                    if not ref:
                        continue
                    if _IMAGE_REF.match(ref):
                        add(Unit("image", ref, ""))
                    else:
                        bad.append((f"{given}:{number}", f"not an image reference: {ref!r}"))
            elif path.name.endswith((".intoto.json", ".vsa.json")):
                add(Unit("vsa", given, ""))
            elif path.name.endswith((".sarif", ".sarif.json")):
                add(Unit("scan-report", given, ""))
            else:
                add(Unit("repository", given, path.parent.resolve().name))
        elif _IMAGE_REF.match(given):
            add(Unit("image", given, ""))
        else:
            bad.append((given, "no such file or directory, and not an image reference"))
    return sorted(units.values(), key=lambda u: (u.kind, u.ref)), bad


def shard(units: Sequence[Unit], index: int, count: int) -> list[Unit]:
    """The units of shard ``index`` of ``count``: stable (by a hash of the unit, not its position), so
    adding an input moves only that input between shards."""

    def bucket(unit: Unit) -> int:
        return int(hashlib.sha256(f"{unit.kind}\0{unit.ref}".encode()).hexdigest(), 16) % count

    return [u for u in units if bucket(u) == index]


def _file_digest(paths: Sequence[str]) -> str:
    h = hashlib.sha256()
    for path in sorted(set(paths)):
        try:
            content = read_bytes(path, 64 * MIB)
        except InputError:
            continue
        h.update(f"{path}\0{hashlib.sha256(content).hexdigest()}\n".encode())
    return "sha256:" + h.hexdigest()


@dataclass(frozen=True)
class AuditOptions:
    """What every unit is audited with: the user's configuration (its check settings and signers), how
    registries are reached, and the evaluation time.

    As everywhere, a section that is present turns its check on: with check sections in the config only
    those checks run; a config without any (no ``--config``) audits with every check's defaults.
    """

    config: VerifierConfig
    sources: SourceOptions
    now: datetime

    def runs(self, check_id: str) -> bool:
        """Whether ``check_id`` is audited."""
        from verifier.checks import registry

        configured = [m for m in registry.CHECKS if m.section in self.config.sections]
        return not configured or any(m.id == check_id for m in configured)


def _evaluate_into(
    outcome: UnitOutcome, config: VerifierConfig, check_id: str, options: AuditOptions
) -> None:
    """The pipeline's checks (``check_id`` only) on the unit; results and settings into ``outcome``."""
    run = run_checks(config, now=options.now, only={check_id}, sources=options.sources)
    outcome.results += run.results
    outcome.policy_config.update(run.policy_config)
    if run.digest:
        outcome.digest = run.digest


def _audit_repository(unit: Unit, outcome: UnitOutcome, options: AuditOptions) -> None:
    """The workflow and trust-policy checks under a repository checkout, with the user's settings for
    them (paths replaced by the repository); a repository without trust policies is not a problem."""
    from verifier.checks.actions_pinned import WorkflowsSection
    from verifier.checks.oidc_trust import TrustPoliciesSection
    from verifier.sources.workflow_files import discover

    config = options.config
    workflows = config.sections.get("workflows")
    trust = config.sections.get("trust_policies")
    found = discover([unit.ref])
    outcome.not_checked += found.skipped
    # Without a workflows: section a repository need not hold workflows (a folder of trust policies);
    # with one, the audit judges as the gate does: nothing to check is an error verdict.
    configured = isinstance(workflows, WorkflowsSection)
    if (configured or found.files or found.unlistable) and options.runs("actions-pinned"):
        section = (
            dataclasses.replace(workflows, paths=(unit.ref,))
            if isinstance(workflows, WorkflowsSection)
            else WorkflowsSection(paths=(unit.ref,))
        )
        try:
            _evaluate_into(
                outcome, config.with_sections(workflows=section), "actions-pinned", options
            )
        except VerifierError as exc:
            outcome.problems.append(f"{unit.ref}: workflows: {exc.diagnostics()}")
    section_trust = (
        dataclasses.replace(trust, paths=(unit.ref,))
        if isinstance(trust, TrustPoliciesSection)
        else TrustPoliciesSection(paths=(unit.ref,))
    )
    try:
        if options.runs("oidc-trust"):
            trust_config = config.with_sections(trust_policies=section_trust)
            _evaluate_into(outcome, trust_config, "oidc-trust", options)
    except InputError as exc:
        if not exc.problem.startswith("no trust configuration found"):
            outcome.problems.append(f"{unit.ref}: trust policies: {exc.diagnostics()}")
    except VerifierError as exc:
        outcome.problems.append(f"{unit.ref}: trust policies: {exc.diagnostics()}")
    subjects = [r.subject.split("#", 1)[0] for r in outcome.results]
    outcome.digest = _file_digest(subjects) if subjects else None
    if not outcome.results and not outcome.problems:
        outcome.problems.append(
            f"{unit.ref}: nothing to audit (no workflows, actions or trust policies found)"
        )


def _audit_vsa(unit: Unit, outcome: UnitOutcome) -> None:
    data = read_bytes(unit.ref, 16 * MIB)
    outcome.digest = "sha256:" + hashlib.sha256(data).hexdigest()
    try:
        statement = json.loads(data)
        predicate = statement["predicate"]
        if statement.get("predicateType") != PREDICATE_TYPE:
            raise ValueError(f"predicateType is {statement.get('predicateType')!r}, not a SLSA VSA")
        subject = statement["subject"][0]
        digest = subject.get("digest", {}).get("sha256")
        result = predicate["verificationResult"]
        policy = predicate.get("policy", {})
        outcome.records.append(
            DecisionRecord(
                time=predicate["timeVerified"],
                source="gate",
                subject=predicate.get("resourceUri") or subject.get("name", ""),
                digest=f"sha256:{digest}" if digest else None,
                allowed=result == "PASSED",
                deny=tuple(predicate.get("deny", ())) if result != "PASSED" else (),
                policy_digest=(policy.get("digest") or {}).get("sha256"),
            )
        )
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        outcome.problems.append(f"{unit.ref}: not a readable SLSA verification summary: {exc}")


def _audit_image(unit: Unit, outcome: UnitOutcome, options: AuditOptions) -> None:
    """The image checks of the user's configuration (at least ``signers:``) on one image."""
    from verifier.checks import registry

    config = options.config
    if "signers" not in config.sections:
        outcome.problems.append(
            f"{unit.ref}: no signer policy: give --certificate-identity(-regexp) with "
            "--certificate-oidc-issuer, or --key (or a --config with signers:)"
        )
        return
    image = dataclasses.replace(config, image=unit.ref)
    for meta in registry.CHECKS:
        if meta.section in config.sections and registry.load(meta.id).reads_images(
            config.sections[meta.section]
        ):
            _evaluate_into(outcome, image, meta.id, options)


def _audit_scan_report(unit: Unit, outcome: UnitOutcome, options: AuditOptions) -> None:
    """The sarif-severity check on one scan report, with the config's ``sarif:`` settings."""
    from verifier.checks.sarif_severity import SarifSection

    if not options.runs("sarif-severity"):
        outcome.not_checked.append((unit.ref, "the config turns sarif-severity off"))
        return
    base = options.config.sections.get("sarif")
    section = (
        dataclasses.replace(base, files=(unit.ref,))
        if isinstance(base, SarifSection)
        else SarifSection(files=(unit.ref,))
    )
    _evaluate_into(outcome, options.config.with_sections(sarif=section), "sarif-severity", options)
    outcome.digest = "sha256:" + hashlib.sha256(read_bytes(unit.ref, 64 * MIB)).hexdigest()


def audit_unit(unit: Unit, options: AuditOptions) -> UnitOutcome:
    """Run every applicable check on one unit. Never raises for bad input: problems are recorded."""
    outcome = UnitOutcome(unit)
    try:
        if unit.kind == "repository":
            _audit_repository(unit, outcome, options)
        elif unit.kind == "decision-log":
            records, problems = read_records(unit.ref)
            outcome.records += records
            outcome.problems += problems
            outcome.digest = "sha256:" + hashlib.sha256(read_bytes(unit.ref)).hexdigest()
        elif unit.kind == "vsa":
            _audit_vsa(unit, outcome)
        elif unit.kind == "image":
            _audit_image(unit, outcome, options)
        elif unit.kind == "scan-report":
            _audit_scan_report(unit, outcome, options)
    except VerifierError as exc:
        outcome.problems.append(f"{unit.ref}: {exc.diagnostics()}")
    return outcome
