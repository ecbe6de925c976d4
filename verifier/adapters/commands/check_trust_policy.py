"""``verifier check trust-policy PATH...``: cloud OIDC trust configurations scoped to the right repo and ref."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from verifier.adapters.common import (
    ReportOptions,
    load_base_config,
    report_options,
    run_check,
    with_section,
)

CHECK_ID = "oidc-trust"
VERDICTS = ("fail", "warn-org", "unsupported", "warn-ref", "broken", "indeterminate", "pass")


def _verdicts(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = tuple(v.strip() for v in value.split(",") if v.strip())
    unknown = [v for v in items if v not in VERDICTS]
    if unknown:
        raise click.BadParameter(
            f"unknown verdict(s) {', '.join(unknown)} (known: {', '.join(VERDICTS)})"
        )
    return items


@click.command("trust-policy")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="verifier.yaml; its `trust_policies:` section (deny, warn) applies, its paths are replaced by "
    "PATH..., and the options below override it.",
)
@click.option(
    "--deny",
    "deny",
    callback=_verdicts,
    metavar="VERDICTS",
    help="Comma-separated verdicts that deny (default: fail,warn-org,unsupported).",
)
@click.option(
    "--warn",
    "warn",
    callback=_verdicts,
    metavar="VERDICTS",
    help="Comma-separated verdicts that warn (default: warn-ref,broken,indeterminate).",
)
@click.option(
    "--max-size",
    type=click.IntRange(1),
    help="Refuse input files larger than this many MiB (exit 2).  [default: 8]",
)
@report_options
def command(
    paths: tuple[str, ...],
    config_file: Path | None,
    deny: tuple[str, ...] | None,
    warn: tuple[str, ...] | None,
    max_size: int | None,
    report: ReportOptions,
) -> None:
    """Check that cloud OIDC trust configurations admit only the intended repository and ref.

    PATH is a file or a directory (walked for .json/.yaml/.yml/.template/.tf/.tpl files). Accepted:
    AWS IAM role trust policies (raw JSON, `aws iam get-role` output, CloudFormation, Terraform HCL,
    Terraform plan JSON), GCP workload identity providers (+ IAM bindings) and Azure federated identity
    credentials (standard and flexible). The provider is detected from the content.

    \b
    Verdicts: fail (outside the intended owner) · warn-org (any repository of one owner) ·
    warn-ref (one repository, any ref or event) · pass · broken (can never match) ·
    indeterminate (an unresolved template decides) · unsupported (a construct the evaluator does
    not understand decides: denied unless left out of --deny and named under --warn).
    """
    from verifier.checks.oidc_trust import TrustPoliciesSection, TrustVerdict

    config = load_base_config(config_file)
    changes: dict[str, Any] = {"paths": tuple(paths)}
    if deny is not None:
        changes["deny"] = tuple(TrustVerdict(v) for v in deny)
    if warn is not None:
        changes["warn"] = tuple(TrustVerdict(v) for v in warn)
    if max_size is not None:
        changes["max_size"] = max_size
    config = with_section(config, "trust_policies", TrustPoliciesSection, changes)
    run_check(config, CHECK_ID, report)
