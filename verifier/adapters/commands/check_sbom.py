"""``verifier check sbom IMAGE``: a verified SBOM attestation for the image, within the SBOM policy."""

from __future__ import annotations

from pathlib import Path

import click

from verifier.adapters.common import ReportOptions, finish, report_options
from verifier.errors import InputError
from verifier.sources.files import MIB


def _claims(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}")
        out[name.strip().replace("-", "_")] = value
    return out


@click.command("sbom")
@click.argument("image")
@click.option(
    "--type",
    "sbom_type",
    type=click.Choice(("spdx", "cyclonedx")),
    help="Only SBOMs of this format count (like cosign verify-attestation --type).",
)
@click.option("--certificate-identity", help="Exact signer identity (certificate SAN), keyless.")
@click.option(
    "--certificate-identity-regexp", help="Signer identity as a fully anchored regular expression."
)
@click.option(
    "--certificate-oidc-issuer", help="Exact OIDC issuer of the signing certificate (keyless)."
)
@click.option(
    "--certificate-github-workflow-repository",
    "gh_repository",
    help="Required source repository: org/repo or https://github.com/org/repo (Fulcio OID 1.12).",
)
@click.option(
    "--certificate-github-workflow-ref",
    "gh_ref",
    help="Required source ref claim, e.g. refs/heads/main (Fulcio OID 1.14).",
)
@click.option(
    "--certificate-github-workflow-trigger",
    "gh_trigger",
    help="Required trigger claim, e.g. push (Fulcio OID 1.20).",
)
@click.option(
    "--certificate-github-workflow-sha",
    "gh_sha",
    help="Required source commit claim (Fulcio OID 1.13).",
)
@click.option(
    "--claim",
    "claims",
    multiple=True,
    callback=_claims,
    help="Required certificate claim NAME=VALUE; repeatable.",
)
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM public key (ECDSA P-256/P-384, Ed25519, RSA) for key-signed attestations.",
)
@click.option(
    "--require-tlog",
    is_flag=True,
    help="Key-signed attestations must also be in the transparency log.",
)
@click.option(
    "--trusted-root",
    type=click.Path(dir_okay=False, path_type=Path),
    help="trusted_root.json of a private Sigstore deployment (default: pinned public-good root).",
)
@click.option(
    "--signature-repository",
    help="Look for attestations in this repository (like COSIGN_REPOSITORY).",
)
@click.option(
    "--docker-config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Docker config.json with registry credentials (default: $DOCKER_CONFIG or ~/.docker).",
)
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1, 300),
    help="Seconds per registry request.",
)
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
    certificate_identity: str | None,
    certificate_identity_regexp: str | None,
    certificate_oidc_issuer: str | None,
    gh_repository: str | None,
    gh_ref: str | None,
    gh_trigger: str | None,
    gh_sha: str | None,
    claims: dict[str, str],
    key_path: Path | None,
    require_tlog: bool,
    trusted_root: Path | None,
    signature_repository: str | None,
    docker_config: Path | None,
    timeout: float,
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
    from verifier.sigstore.identity import IdentityPolicy
    from verifier.sigstore.keys import load_pem_public_key
    from verifier.sigstore.trust import load_trust_root
    from verifier.sources.files import read_bytes
    from verifier.sources.image import collect_image_evidence

    keyless = bool(certificate_identity or certificate_identity_regexp)
    if key_path is None and not keyless:
        raise click.UsageError(
            "give --certificate-identity (or --certificate-identity-regexp) with "
            "--certificate-oidc-issuer for keyless attestations, or --key for key-signed ones"
        )
    if keyless and not certificate_oidc_issuer:
        raise click.UsageError(
            "--certificate-oidc-issuer is required with --certificate-identity[-regexp]"
        )
    if gh_repository:
        # As `check signature`: cosign's flag takes org/repo; Fulcio's 1.12 claim is the repository URL.
        uri = (
            gh_repository
            if "://" in gh_repository
            else f"https://github.com/{gh_repository.strip('/')}"
        )
        claims = {**claims, "source_repository_uri": uri}
    if gh_ref:
        claims = {**claims, "source_repository_ref": gh_ref}
    if gh_trigger:
        claims = {**claims, "build_trigger": gh_trigger}
    if gh_sha:
        claims = {**claims, "source_repository_digest": gh_sha}
    identity = None
    if keyless:
        try:
            identity = IdentityPolicy(
                issuer=certificate_oidc_issuer,
                identity=certificate_identity,
                identity_regexp=certificate_identity_regexp,
                claims=claims,
            )
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    key = None
    if key_path is not None:
        try:
            key = load_pem_public_key(read_bytes(key_path, 1024 * 1024))
        except ValueError as exc:
            raise InputError(str(key_path), str(exc)) from exc
    policy = SignaturePolicy(
        trust=load_trust_root(trusted_root), identity=identity, key=key, require_tlog=require_tlog
    )
    evidence = collect_image_evidence(
        image, docker_config=docker_config, signature_repo=signature_repository, timeout=timeout
    )
    result = evaluate(
        evidence,
        make_verifier(policy, evidence.digest),
        sbom_type=sbom_type,
        max_sbom_bytes=max_size * MIB,
    )
    config: dict[str, object] = {}
    if sbom_type:
        config["required_format"] = sbom_type
    if max_age:
        config["max_age"] = max_age
    if denied_packages:
        config["denied_packages"] = list(denied_packages)
    if denied_licenses:
        config["denied_licenses"] = list(denied_licenses)
    if require_valid:
        config["require_valid"] = True
    finish([result], report, config={"sbom-attestation": config, "signature": policy.config()})
