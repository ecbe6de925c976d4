"""``verifier check sarif FILE...``: Trivy SARIF (or Trivy JSON) findings within the severity policy."""

from __future__ import annotations

from pathlib import Path

import click

from verifier.adapters.common import ReportOptions, finish, now_utc, report_options
from verifier.sources.files import DEFAULT_MAX_BYTES, MIB


def _severity_list(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    from verifier.checks.sarif_severity import fail_on_levels

    try:
        return tuple(s.value for s in fail_on_levels(value))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("sarif")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--fail-on",
    default="critical,high",
    show_default=True,
    callback=_severity_list,
    help="Lowest severity that denies, and every level above it (high = critical and high). "
    "A comma-separated list must name every level from critical down.",
)
@click.option(
    "--ignore-unfixed", is_flag=True, help="Waive vulnerabilities that have no fixed version."
)
@click.option(
    "--ignore",
    "ignore_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A .trivyignore (plain) or .trivyignore.yaml file; repeatable.",
)
@click.option(
    "--vex",
    "vex_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="An OpenVEX, CycloneDX VEX or CSAF VEX document; repeatable.",
)
@click.option(
    "--max-size",
    default=DEFAULT_MAX_BYTES // MIB,
    show_default=True,
    type=click.IntRange(1),
    help="Refuse report files larger than this many MiB (checked before parsing).",
)
@report_options
def command(
    files: tuple[Path, ...],
    fail_on: tuple[str, ...],
    ignore_unfixed: bool,
    ignore_files: tuple[Path, ...],
    vex_files: tuple[Path, ...],
    max_size: int,
    report: ReportOptions,
) -> None:
    """Gate on Trivy findings: every result of every run is a finding with Trivy's severity.

    FILE is a SARIF 2.1.0 log (`trivy --format sarif`) or Trivy's JSON report (`--format json`).
    Waived findings (ignore files, VEX, --ignore-unfixed) are reported with `waived: true`, never dropped.
    Malformed ignore-file lines are reported as warnings.
    """
    from verifier.checks import sarif_severity
    from verifier.sources.scan_reports import load_scan_report, load_waiver_inputs

    now = now_utc(report)
    waivers = load_waiver_inputs(ignore_files, vex_files)
    results = [
        sarif_severity.evaluate(
            load_scan_report(path, max_size * MIB),
            str(path),
            fail_on=fail_on,
            waivers=waivers,
            ignore_unfixed=ignore_unfixed,
            now=now,
        )
        for path in files
    ]
    problems = list(waivers.ignore_problems)
    config = {"sarif-severity": {"fail_on": list(fail_on), "ignore_file_problems": problems}}
    finish(results, report, config)
