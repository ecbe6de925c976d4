"""``verifier audit PATH|IMAGE...`` and ``verifier audit merge``: auditors' reports."""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from verifier.errors import EXIT_ALLOWED, EXIT_DENIED, EXIT_UNEVALUATED

if TYPE_CHECKING:
    from verifier.models import Decision
    from verifier.models.config import Signers


class _DefaultRunGroup(click.Group):
    """``verifier audit X...`` runs an audit; ``verifier audit merge ...`` is the only subcommand."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and args[0] in self.commands:
            return super().resolve_command(ctx, args)
        return "run", self.commands["run"], args


def _shard(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[int, int] | None:
    if value is None:
        return None
    index_text, sep, count_text = value.partition("/")
    if index_text in ("", "auto") and sep:
        index_text = os.environ.get("JOB_COMPLETION_INDEX", "")
    try:
        index, count = int(index_text), int(count_text)
    except ValueError:
        raise click.BadParameter(
            f"expected I/N (or auto/N with JOB_COMPLETION_INDEX set), got {value!r}"
        ) from None
    if count < 1 or not 0 <= index < count:
        raise click.BadParameter(f"shard index must be in 0..{count - 1}, got {index}")
    return index, count


class _Progress:
    """Progress on stderr: a bar that redraws itself on a terminal, plain lines in CI and pipes."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.findings = 0
        self.problems = 0
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def step(self, ref: str, findings: int, problems: int) -> None:
        self.done += 1
        self.findings += findings
        self.problems += problems
        counts = (
            f"{self.done}/{self.total} audited, {self.findings} findings, {self.problems} problems"
        )
        if self.tty:
            filled = int(30 * self.done / max(self.total, 1))
            click.echo(
                f"\r[{'#' * filled}{'.' * (30 - filled)}] {counts}",
                err=True,
                nl=self.done == self.total,
            )
        elif self.done == self.total or time.monotonic() - self.last > 2 or problems:
            click.echo(f"verifier audit: {counts} (last: {ref})", err=True)
            self.last = time.monotonic()


def _write(text: str, output: Path | None) -> None:
    from verifier.adapters.common import write_output

    write_output(text, output, newline=False)


def _exit_code(report: Any, exit_zero: bool) -> int:
    if report.could_not_audit:
        return EXIT_UNEVALUATED
    if not report.decision.allowed and not exit_zero:
        return EXIT_DENIED
    return EXIT_ALLOWED


def _signers(
    identity: str | None, identity_regexp: str | None, issuer: str | None, key: Path | None
) -> Signers | None:
    """The ``signers:`` section the image inputs are checked against (None when no signer was given)."""
    from verifier.models.config import Identity, Signers

    if not (identity or identity_regexp or key):
        return None
    try:
        keyless = (
            Identity(identity=identity, identity_regexp=identity_regexp, issuer=issuer)
            if identity or identity_regexp
            else None
        )
        return Signers(identity=keyless, key=str(key) if key else None)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


REPORT_CHOICE = click.Choice(["html", "markdown", "json", "sarif", "csv"])


@click.group("audit", cls=_DefaultRunGroup)
def group() -> None:
    """Audit repositories, trust policies, images and decision records into one report.

    \b
    verifier audit PATH|IMAGE... [--report html|markdown|json|sarif|csv] [--output FILE]
    verifier audit merge SHARD.json... [--report ...] [--output FILE]

    \b
    Exit codes: 0 everything audited and within policy · 1 policy denies something
    · 2 usage error · 3 some inputs could not be audited (listed in the report).

    `verifier audit run --help` lists the audit options (`run` may be left out).
    """


@group.command("run")
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--report",
    "fmt",
    type=REPORT_CHOICE,
    default="markdown",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here."
)
@click.option(
    "--shard",
    callback=_shard,
    metavar="I/N",
    help="Audit only shard I of N (0-based); `auto/N` takes I from $JOB_COMPLETION_INDEX.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1),
    default=os.cpu_count() or 1,
    show_default=True,
    help="Worker processes.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="verifier.yaml: its check settings (workflows:, trust_policies:, signers:, sbom:, ...; their "
    "paths are replaced by each input) and its policy: decide the audit, as the gate would.",
)
@click.option(
    "--policy",
    "policy_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Rego policy bundle (default: the config's policy.bundle, else the bundled policies/).",
)
@click.option("--certificate-identity", help="Signer identity for image inputs (keyless).")
@click.option(
    "--certificate-identity-regexp", help="Signer identity regexp for image inputs (keyless)."
)
@click.option("--certificate-oidc-issuer", help="OIDC issuer for image inputs (keyless).")
@click.option(
    "--key", type=click.Path(dir_okay=False, path_type=Path), help="Public key for image inputs."
)
@click.option(
    "--docker-config", type=click.Path(dir_okay=False, path_type=Path), help="Registry credentials."
)
@click.option(
    "--timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0.1, 300),
    help="Deadline in seconds for the registry work of each image input; an image that runs out is "
    "listed as not audited.",
)
@click.option(
    "--exit-zero", is_flag=True, help="Exit 0 when the policy denies (3 still means incomplete)."
)
def run_command(
    inputs: tuple[str, ...],
    fmt: str,
    output: Path | None,
    shard: tuple[int, int] | None,
    jobs: int,
    config_file: Path | None,
    policy_dir: Path | None,
    certificate_identity: str | None,
    certificate_identity_regexp: str | None,
    certificate_oidc_issuer: str | None,
    key: Path | None,
    docker_config: Path | None,
    timeout: float,
    exit_zero: bool,
) -> None:
    """Audit PATH|IMAGE... (repositories, folders of repositories, trust policies, image lists *.txt,
    decision logs *.jsonl, gate VSAs *.intoto.json, image references)."""
    from datetime import UTC, datetime

    from verifier.adapters.common import load_base_config
    from verifier.audit import plan as audit
    from verifier.audit.report import build_report
    from verifier.output.audit import render
    from verifier.pipeline import SourceOptions, decide, merge_policy_config
    from verifier.policy.engine import bundle_digest, default_policy_dir

    config = load_base_config(config_file)
    signers = _signers(
        certificate_identity, certificate_identity_regexp, certificate_oidc_issuer, key
    )
    if signers is not None:
        config = config.with_sections(signers=signers)
    bundle = policy_dir or (Path(config.policy.bundle) if config.policy.bundle else None)
    bundle = bundle or default_policy_dir()
    opa_url = config.policy.opa_url if config.policy.engine == "opa" else None
    now = datetime.now(UTC).replace(microsecond=0)
    options = audit.AuditOptions(
        config=config, sources=SourceOptions(docker_config=docker_config, timeout=timeout), now=now
    )
    units, bad = audit.plan(inputs)
    if shard:
        units = audit.shard(units, *shard)
    progress = _Progress(len(units))
    outcomes: list[audit.UnitOutcome] = []
    if jobs > 1 and len(units) > 1:
        with ProcessPoolExecutor(max_workers=min(jobs, len(units))) as pool:
            futures = {pool.submit(audit.audit_unit, unit, options): unit for unit in units}
            for future in as_completed(futures):
                outcome = future.result()
                outcomes.append(outcome)
                progress.step(
                    outcome.unit.ref,
                    sum(len(r.findings) for r in outcome.results),
                    len(outcome.problems),
                )
    else:
        for unit in units:
            outcome = audit.audit_unit(unit, options)
            outcomes.append(outcome)
            progress.step(
                unit.ref, sum(len(r.findings) for r in outcome.results), len(outcome.problems)
            )
    ordered = sorted(outcomes, key=lambda o: (o.unit.kind, o.unit.ref))
    results = [r for o in ordered for r in o.results]
    settings = merge_policy_config({}, *(o.policy_config for o in ordered))

    def decision_on(rs: list[Any]) -> Decision:
        return decide(rs, settings, now=now, policy_dir=bundle, opa_url=opa_url)[0]

    decision = decision_on(results)
    repo_results: dict[str, list[Any]] = {}
    for o in ordered:
        if o.unit.kind == "repository" and o.results:
            repo_results.setdefault(o.unit.repository, []).extend(o.results)
    repo_decisions = {repo: decision_on(rs) for repo, rs in repo_results.items()}
    report = build_report(
        outcomes,
        bad,
        decision=decision,
        repo_decisions=repo_decisions,
        policy_digest=bundle_digest(bundle),
        now=now,
        shard_of=shard,
        settings=settings,
    )
    _write(render(fmt, report), output)
    sys.exit(_exit_code(report, exit_zero))


@group.command("merge")
@click.argument("reports", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--report",
    "fmt",
    type=REPORT_CHOICE,
    default="markdown",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here."
)
@click.option(
    "--policy",
    "policy_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Rego policy bundle for the overall decision (default: the bundled policies/).",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 when the policy denies.")
def merge_command(
    reports: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    policy_dir: Path | None,
    exit_zero: bool,
) -> None:
    """Merge shard reports written with `--report json` into one report."""
    from datetime import UTC, datetime

    from pydantic import ValidationError

    from verifier.audit.report import AuditReport, merge_reports
    from verifier.errors import InputError
    from verifier.output.audit import render
    from verifier.pipeline import decide
    from verifier.sources.files import read_bytes

    parts = []
    for path in reports:
        try:
            parts.append(AuditReport.model_validate_json(read_bytes(path)))
        except ValidationError as exc:
            raise InputError(
                str(path), f"not a verifier.audit/v1 JSON report: {exc.errors()[0]['msg']}"
            ) from None
    now = datetime.now(UTC).replace(microsecond=0)
    results = [r for p in parts for r in p.results]
    # The shards' own settings (their --config), so the merged decision is the one a single run gives.
    from verifier.audit.report import merged_settings

    decision = decide(results, merged_settings(parts), now=now, policy_dir=policy_dir)[0]
    merged = merge_reports(parts, decision=decision, now=now, names=[str(p) for p in reports])
    _write(render(fmt, merged), output)
    sys.exit(_exit_code(merged, exit_zero))
