"""``verifier check sarif FILE...``: Trivy SARIF (or Trivy JSON) findings within the severity policy."""

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

CHECK_ID = "sarif-severity"


@click.command("sarif")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="verifier.yaml; its `sarif:` section (fail_on, ignore_files, vex, ...) applies, its files are "
    "replaced by FILE..., and the options below override it.",
)
@click.option(
    "--fail-on",
    help="The lowest severity that denies: critical, high, medium, low or unknown (`high` = high and "
    "critical). A comma-separated list must not leave out a more severe level.  [default: high]",
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
    type=click.IntRange(1),
    help="Refuse report files larger than this many MiB (checked before parsing).  [default: 64]",
)
@report_options
def command(
    files: tuple[Path, ...],
    config_file: Path | None,
    fail_on: str | None,
    ignore_unfixed: bool,
    ignore_files: tuple[Path, ...],
    vex_files: tuple[Path, ...],
    max_size: int | None,
    report: ReportOptions,
) -> None:
    """Gate on Trivy findings: every result of every run is a finding with Trivy's severity.

    FILE is a SARIF 2.1.0 log (`trivy --format sarif`) or Trivy's JSON report (`--format json`).
    Waived findings (ignore files, VEX, --ignore-unfixed) are reported with `waived: true`, never dropped.
    Malformed ignore-file lines are reported as warnings.
    """
    from verifier.checks.sarif_severity import SarifSection

    config = load_base_config(config_file)
    changes: dict[str, Any] = {"files": tuple(str(f) for f in files)}
    if fail_on is not None:
        changes["fail_on"] = fail_on
    if ignore_unfixed:
        changes["ignore_unfixed"] = True
    if ignore_files:
        changes["ignore_files"] = tuple(str(f) for f in ignore_files)
    if vex_files:
        changes["vex"] = tuple(str(f) for f in vex_files)
    if max_size is not None:
        changes["max_size"] = max_size
    run_check(with_section(config, "sarif", SarifSection, changes), CHECK_ID, report)
