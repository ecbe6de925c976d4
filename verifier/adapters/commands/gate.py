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
    write_output,
)
from verifier.errors import InputError, VerifierError
from verifier.output._common import UpdatedValue, UpdateOutcome

if TYPE_CHECKING:
    from datetime import datetime

    from verifier.pipeline import Evaluation
    from verifier.records.gitops_update import Update
    from verifier.sources.release_images import FoundImage


@click.command("gate")
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="verifier.yaml (see `verifier init` and docs/configuration.md).",
)
@click.option(
    "--image",
    "image_refs",
    multiple=True,
    help="Image to gate (replaces `image:` / `images:`): oci-layout:PATH or registry/repo@sha256:…; "
    "repeatable.",
)
@click.option(
    "--images-from",
    "images_from",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Gate every image this file names (replaces `image:` / `images:`): Kubernetes manifests, a "
    "kustomization (images:) or Helm values (image.repository + tag/digest); repeatable.",
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
    metavar="FILE:PATH=VALUE | FILE",
    help="On allow only: set PATH in the YAML FILE to VALUE, keeping comments; VALUE may be `{digest}` "
    "for the gated image's digest (one image). A FILE given to --images-from alone pins every image it "
    "names to its verified digest, where it names it. Repeatable.",
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
@click.option(
    "--docker-config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Docker config.json with registry credentials (default: $DOCKER_CONFIG or ~/.docker).",
)
@click.option(
    "--timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0.1, 300),
    help="Deadline in seconds for all of the gate's registry work, every image included; exit 3 when "
    "it runs out.",
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
    image_refs: tuple[str, ...],
    images_from: tuple[str, ...],
    sarif_files: tuple[str, ...],
    workflow_paths: tuple[str, ...],
    trust_paths: tuple[str, ...],
    updates: tuple[str, ...],
    vsa_path: Path | None,
    outputs_path: Path | None,
    docker_config: Path | None,
    timeout: float,
    timings: bool,
    decision_log: Path | None,
    report: ReportOptions,
) -> None:
    """Run every check `verifier.yaml` configures and decide once with the policy.

    Command-line options override the file; their paths are relative to the current directory, the
    file's paths to the file's directory. A release of several images (`images:`, --image repeated,
    --images-from) has every image verified by every image check, concurrently, and one decision.
    """
    from verifier.checks.actions_pinned import WorkflowsSection
    from verifier.checks.oidc_trust import TrustPoliciesSection
    from verifier.checks.sarif_severity import SarifSection
    from verifier.config import load_config
    from verifier.pipeline import SourceOptions, evaluate
    from verifier.records.gitops_update import apply_updates, parse_update
    from verifier.sources.release_images import read_images

    config = load_config(config_path)
    for key, given, field, section_type in (
        ("sarif", sarif_files, "files", SarifSection),
        ("workflows", workflow_paths, "paths", WorkflowsSection),
        ("trust_policies", trust_paths, "paths", TrustPoliciesSection),
    ):
        if given:
            config = with_section(config, key, section_type, {field: tuple(given)})
    found = {name: read_images(name) for name in images_from}
    if image_refs or found:
        named = [*image_refs, *(i.ref for images in found.values() for i in images)]
        config = config.with_images(tuple(dict.fromkeys(named)))
    # Parse --update before running anything: a tag where a digest belongs is a usage error, not a deny.
    pins = [spec for spec in updates if spec in found]
    specs = [spec for spec in updates if spec not in found]
    for spec in specs:
        parse_update(spec.replace("{digest}", "sha256:" + "0" * 64))
    for name in pins:
        for image in found[name]:
            if image.document:
                raise click.UsageError(
                    f"{image.file}: only the first YAML document of a file can be pinned; pin "
                    f"{image.ref} in the kustomization or values it was rendered from"
                )
    wants_digest = any("{digest}" in spec for spec in specs)
    if (vsa_path or wants_digest) and not config.all_images:
        raise click.UsageError(
            "--vsa and --update …={digest} need an image (set image: / images: or --image)"
        )
    if wants_digest and len(config.all_images) > 1:
        raise click.UsageError(
            "--update …={digest} needs exactly one image; pin several with --update FILE "
            "for a file given to --images-from"
        )

    now = now_utc(report)
    sources = SourceOptions(docker_config=docker_config, timeout=timeout)
    evaluation = evaluate(
        config, now=now, sources=sources, policy_dir=report.policy_dir, opa_url=report.opa_url
    )
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
                subject=", ".join(config.all_images) or str(config_path),
                digest=evaluation.digest,
                policy_digest=bundle_digest(policy_dir or default_policy_dir()),
            ),
        )

    allowed = is_allowed(decision, report)
    outcome: UpdateOutcome | None = None
    update_error: VerifierError | None = None
    if updates and not allowed:
        outcome = UpdateOutcome(False, reason="the release was not allowed; no file was changed")
    elif updates:
        try:
            planned = [
                parse_update(spec.replace("{digest}", evaluation.digest or "")) for spec in specs
            ]
            for name in pins:
                planned += _pins(found[name], evaluation.digests)
            # All files or none (InputError says none was changed).
            changes = apply_updates(planned)
        except VerifierError as exc:
            update_error = exc
            outcome = UpdateOutcome(False, reason=str(exc))
        else:
            outcome = UpdateOutcome(
                True, tuple(UpdatedValue(str(c.file), c.path_text, c.value) for c in changes)
            )
            for change in changes:
                click.echo(
                    f"verifier: updated {change.file}: {change.path_text} = {change.value}",
                    err=True,
                )
    if allowed and vsa_path and update_error is None:
        _write_vsa(vsa_path, evaluation, policy_dir, now)

    # The report is written whatever became of the update; a failed update then exits 2.
    emit_report(evaluation, report, updates=outcome)
    if update_error is not None:
        raise update_error
    if outputs_path:
        lines = [
            f"allowed={'true' if allowed else 'false'}",
            f"digest={evaluation.digest or ''}",
            f"report={report.output or ''}",
        ]
        with outputs_path.open("a", encoding="utf-8") as out:
            out.write("".join(line.replace("\n", " ") + "\n" for line in lines))
    raise SystemExit(exit_code(decision, report))


def _pins(images: list[FoundImage], digests: dict[str, str]) -> list[Update]:
    """The updates that write each image's verified digest where its file names it."""
    from verifier.records.gitops_update import Update

    pins = []
    for image in images:
        digest = digests.get(image.ref)
        if digest is None:
            raise InputError(image.file, f"no digest was verified for {image.ref}")
        pins.append(Update(Path(image.file), image.pin_path, image.pin_value(digest)))
    return pins


def _write_vsa(path: Path, evaluation: Evaluation, policy_dir: Path | None, now: datetime) -> None:
    """One SLSA VSA per image (in-toto statements; several are written as JSON Lines)."""
    from verifier.policy.engine import default_policy_dir
    from verifier.records.vsa import build_vsa, dumps

    if not evaluation.digests:
        raise click.UsageError("--vsa needs an image whose digest was resolved")
    bundle = policy_dir or default_policy_dir()
    statements = [
        build_vsa(
            image=image,
            digest=digest,
            decision=evaluation.decision,
            results=list(evaluation.results),
            policy_dir=bundle,
            policy_uri=bundle.resolve().as_uri(),
            inputs=list(evaluation.inputs),
            now=now,
        )
        for image, digest in evaluation.digests.items()
    ]
    if len(statements) == 1:
        text = dumps(statements[0])
    else:
        import json

        text = "".join(
            json.dumps(s, sort_keys=True, separators=(",", ":")) + "\n" for s in statements
        )
    write_output(text, path)
