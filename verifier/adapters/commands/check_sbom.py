"""``verifier check sbom IMAGE``: a verified SBOM attestation for the image, within the SBOM policy."""

from __future__ import annotations

import dataclasses
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
from verifier.adapters.signer_options import SignerArgs, signer_options

CHECK_ID = "sbom-attestation"


@click.command("sbom")
@click.argument("image")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="verifier.yaml; its `sbom:` and `signers:` sections apply, and the options below override them.",
)
@click.option(
    "--type",
    "sbom_type",
    type=click.Choice(("spdx", "cyclonedx")),
    help="Only SBOMs of this format count (like cosign verify-attestation --type).",
)
@signer_options
@click.option(
    "--max-size",
    type=click.IntRange(1),
    help="Refuse SBOM payloads larger than this many MiB (checked before parsing).  [default: 128]",
)
@click.option(
    "--max-age", help="Deny SBOMs older than this Go duration (e.g. 720h); overrides the config."
)
@click.option(
    "--deny-package",
    "denied_packages",
    multiple=True,
    help="Deny a package by purl pattern with an optional version range, e.g. "
    "'pkg:npm/lodash@<4.17.21'; repeatable.",
)
@click.option(
    "--deny-license", "denied_licenses", multiple=True, help="Deny a licence id; repeatable."
)
@click.option(
    "--require-valid",
    is_flag=True,
    help="Deny SBOMs that fail schema (CycloneDX) or structural (SPDX) validation (default: warn).",
)
@report_options
def command(
    image: str,
    config_file: Path | None,
    sbom_type: str | None,
    signer: SignerArgs,
    max_size: int | None,
    max_age: str | None,
    denied_packages: tuple[str, ...],
    denied_licenses: tuple[str, ...],
    require_valid: bool,
    report: ReportOptions,
) -> None:
    """Verify IMAGE's SBOM attestations (legacy .att layers and Sigstore bundle referrers).

    The attestation must be signed by the same signer policy as `check signature` (identity or key), be an
    in-toto statement whose subject is the image manifest digest, and carry an SPDX or CycloneDX SBOM.
    The policy then decides on age, format, denied packages and licences (docs/checks/sbom-attestation.md).
    """
    from verifier.checks.sbom_attestation import SbomSection

    config = load_base_config(config_file)
    signers = signer.signers(config.sections.get("signers"))
    changes: dict[str, Any] = {}
    if sbom_type:
        changes["format"] = sbom_type
    if max_size is not None:
        changes["max_size"] = max_size
    if max_age:
        changes["max_age"] = max_age
    if denied_packages:
        changes["denied_packages"] = denied_packages
    if denied_licenses:
        changes["denied_licenses"] = denied_licenses
    if require_valid:
        changes["require_valid"] = True
    config = with_section(config.with_sections(signers=signers), "sbom", SbomSection, changes)
    config = dataclasses.replace(config, image=image)
    run_check(config, CHECK_ID, report, sources=signer.sources())
