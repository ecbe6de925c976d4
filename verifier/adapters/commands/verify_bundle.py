"""``verifier verify-bundle``: the sigstore-conformance client protocol (``verify-bundle`` half).

    verifier verify-bundle --bundle B --certificate-identity I --certificate-oidc-issuer O
                           [--trusted-root F | --staging] [--key PUB] ARTIFACT|sha256:<hex>

Exit 0 only when the bundle verifies; 1 when it does not (the reason is printed to stderr);
2 for unreadable input (bundle file, key, trusted root, artifact).
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from verifier.errors import EXIT_DENIED, InputError
from verifier.sources.files import read_bytes

_DIGEST = re.compile(r"^sha256:([0-9a-fA-F]{64})$")
MAX_ARTIFACT_BYTES = 1024 * 1024 * 1024


@click.command("verify-bundle")
@click.argument("artifact")
@click.option(
    "--bundle",
    "bundle_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The Sigstore bundle (.sigstore.json).",
)
@click.option("--certificate-identity", help="Exact signer identity (certificate SAN).")
@click.option(
    "--certificate-identity-regexp",
    help="Signer identity as a regular expression (fully anchored).",
)
@click.option("--certificate-oidc-issuer", help="Exact OIDC issuer of the signing certificate.")
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM public key, for key-signed bundles (no identity needed).",
)
@click.option(
    "--trusted-root",
    type=click.Path(dir_okay=False, path_type=Path),
    help="trusted_root.json of a private Sigstore deployment (default: the pinned public-good root).",
)
@click.option(
    "--staging",
    is_flag=True,
    help="Use the pinned Sigstore staging trusted root (unless --trusted-root is given).",
)
def command(
    artifact: str,
    bundle_path: Path,
    certificate_identity: str | None,
    certificate_identity_regexp: str | None,
    certificate_oidc_issuer: str | None,
    key_path: Path | None,
    trusted_root: Path | None,
    staging: bool,
) -> None:
    """Verify a Sigstore bundle for ARTIFACT (a file, or sha256:<hex> of it).

    For DSSE (in-toto) bundles ARTIFACT is the statement's subject.
    """
    from verifier.sigstore.bundle import MAX_BUNDLE_BYTES, verify_bundle
    from verifier.sigstore.errors import VerificationFailure
    from verifier.sigstore.identity import IdentityPolicy
    from verifier.sigstore.keys import load_pem_public_key
    from verifier.sigstore.trust import PINNED_STAGING_ROOT
    from verifier.sources.trust_roots import load_trust_root

    if certificate_identity and certificate_identity_regexp:
        raise click.UsageError(
            "give --certificate-identity or --certificate-identity-regexp, not both"
        )
    if key_path is None and not (certificate_identity or certificate_identity_regexp):
        raise click.UsageError(
            "keyless verification needs --certificate-identity (or -regexp); "
            "key-signed bundles need --key"
        )
    try:
        policy = IdentityPolicy(
            issuer=certificate_oidc_issuer,
            identity=certificate_identity,
            identity_regexp=certificate_identity_regexp,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc

    raw = read_bytes(bundle_path, MAX_BUNDLE_BYTES)
    key = None
    if key_path is not None:
        try:
            key = load_pem_public_key(read_bytes(key_path, 1024 * 1024))
        except ValueError as exc:
            raise InputError(str(key_path), str(exc)) from exc
    # An explicit trusted root wins over --staging (the conformance suite passes both for custom roots).
    trust = load_trust_root(
        trusted_root if trusted_root is not None else PINNED_STAGING_ROOT if staging else None
    )
    # sha256:<hex> is a digest unless a file of that name exists (conformance protocol).
    match = _DIGEST.match(artifact) if not Path(artifact).exists() else None
    data = None if match else read_bytes(artifact, MAX_ARTIFACT_BYTES)
    digest = bytes.fromhex(match.group(1)) if match else None
    try:
        result = verify_bundle(
            raw, trust=trust, artifact=data, digest=digest, policy=policy, key=key
        )
    except VerificationFailure as exc:
        click.echo(
            f"verifier: {bundle_path}: verification failed [{exc.reason}]: {exc.message}", err=True
        )
        raise click.exceptions.Exit(EXIT_DENIED) from None
    who = result.signer.identity or result.signer.key or "?"
    via = f" via {result.signer.issuer}" if result.signer.issuer else ""
    when = f" at {result.signed_at:%Y-%m-%dT%H:%M:%SZ}" if result.signed_at else ""
    click.echo(f"OK: {bundle_path}: signed by {who}{via}{when}")
