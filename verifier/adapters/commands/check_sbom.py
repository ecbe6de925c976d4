"""``verifier check sbom IMAGE``: a verified SBOM attestation for the image, within the SBOM policy."""

from __future__ import annotations

import click

from verifier.adapters.common import ReportOptions, finish, report_options
from verifier.adapters.signer_options import SignerArgs, signer_options
from verifier.sources.files import MIB


@click.command("sbom")
@click.argument("image")
@click.option(
    "--type",
    "sbom_type",
    type=click.Choice(("spdx", "cyclonedx")),
    help="Only SBOMs of this format count (like cosign verify-attestation --type).",
)
@signer_options
@click.option(
    "--max-size",
    default=128,
    show_default=True,
    type=click.IntRange(1),
    help="Refuse SBOM payloads larger than this many MiB (checked before parsing).",
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
    sbom_type: str | None,
    signer: SignerArgs,
    max_size: int,
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
    from verifier.checks.sbom_attestation import evaluate, make_verifier
    from verifier.checks.signature import SignaturePolicy
    from verifier.sigstore.trust import load_trust_root

    policy = SignaturePolicy(
        trust=load_trust_root(signer.trusted_root),
        identity=signer.identity_policy(),
        key=signer.public_key(),
        require_tlog=signer.require_tlog,
    )
    evidence = signer.collect(image)
    result = evaluate(
        evidence,
        make_verifier(policy, evidence.digest),
        sbom_type=sbom_type,
        max_sbom_bytes=max_size * MIB,
        package_rules=denied_packages,
    )
    config: dict[str, object] = {}
    if sbom_type:
        config["required_format"] = sbom_type
    if max_age:
        config["max_age"] = max_age
    if denied_packages:
        config["denied_packages"] = list(denied_packages)
    if denied_licenses:
        from verifier.sbom.licenses import normalize_license_id

        config["denied_licenses"] = [normalize_license_id(i) for i in denied_licenses]
    if require_valid:
        config["require_valid"] = True
    finish([result], report, config={"sbom-attestation": config, "signature": policy.config()})
