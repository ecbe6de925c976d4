"""``verifier gate --config verifier.yaml``: every check for one release, one decision.

On allow (exit 0), ``--update FILE:PATH=VALUE`` edits the values file and ``--vsa FILE`` writes the
verification summary attestation. On deny nothing is written but the report. Exit codes: 0 allow, 1 deny, 2 bad input or
config, 3 not evaluated (registry down, policy engine unavailable).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from verifier.adapters.common import (
    ReportOptions,
    emit_report,
    exit_code,
    is_allowed,
    now_utc,
    report_options,
    with_section,
)

if TYPE_CHECKING:
    from datetime import datetime

    from verifier.pipeline import Evaluation


@click.command("gate")
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="verifier.yaml (see `verifier init` and docs/configuration.md).",
)
@click.option(
    "--image", help="Image to gate (overrides `image:`): oci-layout:PATH or registry/repo@sha256:…."
)
@click.option(
    "--sarif",
    "sarif_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Scanner report (replaces `sarif.files`); repeatable.",
)
@click.option(
    "--workflows",
    "workflow_paths",
    multiple=True,
    type=click.Path(),
    help="Workflow path (replaces `workflows.paths`); repeatable.",
)
@click.option(
    "--trust-policy",
    "trust_paths",
    multiple=True,
    type=click.Path(),
    help="Trust policy path (replaces `trust_policies.paths`); repeatable.",
)
@click.option(
    "--update",
    "updates",
    multiple=True,
    metavar="FILE:PATH=VALUE",
    help="On allow only: set PATH in the YAML FILE to VALUE, keeping comments (repeatable). "
    "VALUE may be `{digest}` for the gated image's digest.",
)
@click.option(
    "--vsa",
    "vsa_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="On allow only: write a SLSA verification summary (in-toto statement) here.",
)
@click.option(
    "--github-output",
    "outputs_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append allowed=…, digest=… and report=… lines here ($GITHUB_OUTPUT), on allow and deny.",
)
@click.option("--timings", is_flag=True, help="Print the wall time of each check to stderr.")
@click.option(
    "--decision-log",
    "decision_log",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append the decision as one JSON line to this file (overrides `decision_log:`).",
)
@report_options
def command(
    config_path: Path,
    image: str | None,
    sarif_files: tuple[str, ...],
    workflow_paths: tuple[str, ...],
    trust_paths: tuple[str, ...],
    updates: tuple[str, ...],
    vsa_path: Path | None,
    outputs_path: Path | None,
    timings: bool,
    decision_log: Path | None,
    report: ReportOptions,
) -> None:
    """Run every check `verifier.yaml` configures and decide once with the policy.

    Command-line options override the file; their paths are relative to the current directory, the
    file's paths to the file's directory.
    """
    import dataclasses

    from verifier.checks.actions_pinned import WorkflowsSection
    from verifier.checks.oidc_trust import TrustPoliciesSection
    from verifier.checks.sarif_severity import SarifSection
    from verifier.config import load_config
    from verifier.pipeline import evaluate
    from verifier.records.gitops_update import apply_updates, parse_update

    config = load_config(config_path)
    for key, given, field, section_type in (
        ("sarif", sarif_files, "files", SarifSection),
        ("workflows", workflow_paths, "paths", WorkflowsSection),
        ("trust_policies", trust_paths, "paths", TrustPoliciesSection),
    ):
        if given:
            config = with_section(config, key, section_type, {field: tuple(given)})
    if image:
        config = dataclasses.replace(config, image=image)
    # Parse --update before running anything: a tag where a digest belongs is a usage error, not a deny.
    for spec in updates:
        parse_update(spec.replace("{digest}", "sha256:" + "0" * 64))
    if (vsa_path or any("{digest}" in u for u in updates)) and not config.image:
        raise click.UsageError(
            "--vsa and --update …={digest} need an image (set image: or --image)"
        )

    now = now_utc(report)
    evaluation = evaluate(config, now=now, policy_dir=report.policy_dir, opa_url=report.opa_url)
    decision = evaluation.decision
    policy_dir = report.policy_dir or (Path(config.policy.bundle) if config.policy.bundle else None)

    if timings:
        for check_id, seconds in evaluation.timings.items():
            click.echo(f"timing: {check_id}: {seconds * 1000:.1f} ms", err=True)

    log_path = decision_log or (Path(config.decision_log) if config.decision_log else None)
    if log_path:
        from verifier.policy.engine import bundle_digest, default_policy_dir
        from verifier.records.decision_log import DecisionRecord, append_record

        append_record(
            log_path,
            DecisionRecord.of(
                decision,
                time=now,
                source="gate",
                subject=config.image or str(config_path),
                digest=evaluation.digest,
                policy_digest=bundle_digest(policy_dir or default_policy_dir()),
            ),
        )

    allowed = is_allowed(decision, report)
    if allowed:
        if any("{digest}" in spec for spec in updates) and not evaluation.digest:
            raise click.UsageError("--update uses {digest} but no image digest was resolved")
        # All files or none (InputError says none was changed).
        changes = apply_updates(
            [parse_update(s.replace("{digest}", evaluation.digest or "")) for s in updates]
        )
        for change in changes:
            click.echo(
                f"verifier: updated {change.file}: {change.path_text} = {change.value}", err=True
            )
        if vsa_path:
            _write_vsa(vsa_path, config.image, evaluation, policy_dir, now)

    emit_report(evaluation, report)
    if outputs_path:
        lines = [
            f"allowed={'true' if allowed else 'false'}",
            f"digest={evaluation.digest or ''}",
            f"report={report.output or ''}",
        ]
        with outputs_path.open("a", encoding="utf-8") as out:
            out.write("".join(line.replace("\n", " ") + "\n" for line in lines))
    raise SystemExit(exit_code(decision, report))


def _write_vsa(
    path: Path, image: str | None, evaluation: Evaluation, policy_dir: Path | None, now: datetime
) -> None:
    from verifier.policy.engine import default_policy_dir
    from verifier.records.vsa import build_vsa, dumps

    if not image or not evaluation.digest:
        raise click.UsageError(
            "--vsa needs an image whose digest was resolved (set image: or --image)"
        )
    bundle = policy_dir or default_policy_dir()
    statement = build_vsa(
        image=image,
        digest=evaluation.digest,
        decision=evaluation.decision,
        results=list(evaluation.results),
        policy_dir=bundle,
        policy_uri=bundle.resolve().as_uri(),
        inputs=list(evaluation.inputs),
        now=now,
    )
    path.write_text(dumps(statement), encoding="utf-8")
