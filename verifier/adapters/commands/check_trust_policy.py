"""``verifier check trust-policy PATH...``: cloud OIDC trust configurations scoped to the right repo and ref."""

from __future__ import annotations

import click

from verifier.adapters.common import ReportOptions, finish, report_options

CHECK_ID = "oidc-trust"
VERDICTS = ("fail", "warn-org", "unsupported", "warn-ref", "broken", "indeterminate", "pass")


def _verdicts(_ctx: click.Context, _param: click.Parameter, value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in items if v not in VERDICTS]
    if unknown:
        raise click.BadParameter(
            f"unknown verdict(s) {', '.join(unknown)} (known: {', '.join(VERDICTS)})"
        )
    return items


@click.command("trust-policy")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
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
    default=8,
    show_default=True,
    type=click.IntRange(1),
    help="Refuse input files larger than this many MiB (exit 2).",
)
@report_options
def command(
    paths: tuple[str, ...],
    deny: list[str] | None,
    warn: list[str] | None,
    max_size: int,
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
    not understand decides: denied unless --warn/--deny say otherwise).
    """
    from verifier.checks.oidc_trust import check_all
    from verifier.sources.files import MIB
    from verifier.sources.trust_policy_files import load_configs

    configs = load_configs(list(paths), max_size * MIB)
    results = check_all(configs)
    section: dict[str, list[str]] = {}
    if deny is not None:
        section["deny"] = deny
    if warn is not None:
        section["warn"] = warn
    finish(results, report, {CHECK_ID: section})
