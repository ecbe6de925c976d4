"""``verifier check signature IMAGE``: the image is signed by a trusted signer (cosign / Sigstore)."""

from __future__ import annotations

from pathlib import Path

import click

from verifier.adapters.common import ReportOptions, finish, now_utc, report_options
from verifier.errors import InputError


def _claims(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}")
        out[name.strip().replace("-", "_")] = value
    return out


@click.command("signature")
@click.argument("image")
@click.option("--certificate-identity", help="Exact signer identity (certificate SAN), keyless.")
@click.option("--certificate-identity-regexp", help="Signer identity as a fully anchored regular expression.")
@click.option("--certificate-oidc-issuer", help="Exact OIDC issuer of the signing certificate (keyless).")
@click.option("--certificate-github-workflow-repository", "gh_repository",
              help="Required source repository: org/repo or https://github.com/org/repo (Fulcio OID 1.12).")
@click.option("--certificate-github-workflow-ref", "gh_ref",
              help="Required source ref claim, e.g. refs/heads/main (Fulcio OID 1.14).")
@click.option("--certificate-github-workflow-trigger", "gh_trigger",
              help="Required trigger claim, e.g. push (Fulcio OID 1.20).")
@click.option("--certificate-github-workflow-sha", "gh_sha",
              help="Required source commit claim (Fulcio OID 1.13).")
@click.option("--claim", "claims", multiple=True, callback=_claims,
              help="Required certificate claim NAME=VALUE (build_signer_uri, runner_environment, build_trigger, "
                   "source_repository_uri, source_repository_ref, ...); repeatable.")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path),
              help="PEM public key (ECDSA P-256/P-384, Ed25519, RSA) for key-signed images.")
@click.option("--require-tlog", is_flag=True, help="Key-signed signatures must also be in the transparency log.")
@click.option("--trusted-root", type=click.Path(dir_okay=False, path_type=Path),
              help="trusted_root.json of a private Sigstore deployment (default: pinned public-good root).")
@click.option("--ca-roots", type=click.Path(dir_okay=False, path_type=Path),
              help="PEM root certificates of a private PKI (no Rekor, no CT): keyless signatures whose chain "
                   "leads to them are verified at --now (default: now) instead of a transparency-log time.")
@click.option("--ca-intermediates", type=click.Path(dir_okay=False, path_type=Path),
              help="PEM intermediate certificates for --ca-roots.")
@click.option("--signature-repository", help="Look for signatures in this repository (like COSIGN_REPOSITORY).")
@click.option("--docker-config", type=click.Path(dir_okay=False, path_type=Path),
              help="Docker config.json with registry credentials (default: $DOCKER_CONFIG or ~/.docker).")
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(0.1, 300),
              help="Seconds per registry request.")
@report_options
def command(image: str, certificate_identity: str | None, certificate_identity_regexp: str | None,
            certificate_oidc_issuer: str | None, gh_repository: str | None, gh_ref: str | None,
            gh_trigger: str | None, gh_sha: str | None, claims: dict[str, str], key_path: Path | None,
            require_tlog: bool, trusted_root: Path | None, ca_roots: Path | None, ca_intermediates: Path | None,
            signature_repository: str | None, docker_config: Path | None, timeout: float,
            report: ReportOptions) -> None:
    """Verify IMAGE's cosign signatures (legacy .sig and cosign v3 / Sigstore bundle referrers).

    IMAGE is registry/repo@sha256:…, registry/repo:tag (resolved to a digest once) or
    oci-layout:PATH[@sha256:…]. The image passes when at least one signature satisfies the policy;
    every signature that does not is reported with its reason.
    """
    from verifier.checks.signature import SignaturePolicy, evaluate
    from verifier.sigstore.identity import IdentityPolicy
    from verifier.sigstore.keys import load_pem_public_key
    from verifier.sigstore.legacy import PrivatePki
    from verifier.sigstore.trust import load_trust_root, trust_root_from_pems
    from verifier.sources.files import read_bytes
    from verifier.sources.image import collect_image_evidence

    keyless = bool(certificate_identity or certificate_identity_regexp)
    if key_path is None and not keyless:
        raise click.UsageError("give --certificate-identity (or --certificate-identity-regexp) with "
                               "--certificate-oidc-issuer for keyless signatures, or --key for key-signed ones")
    if keyless and not certificate_oidc_issuer and ca_roots is None:
        raise click.UsageError("--certificate-oidc-issuer is required with --certificate-identity[-regexp] "
                               "(private-PKI certificates from --ca-roots may have none)")
    if gh_repository:
        # cosign's flag takes org/repo (the deprecated OID 1.5); Fulcio's 1.12 claim is the repository URL.
        uri = gh_repository if "://" in gh_repository else f"https://github.com/{gh_repository.strip('/')}"
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
            identity = IdentityPolicy(issuer=certificate_oidc_issuer, identity=certificate_identity,
                                      identity_regexp=certificate_identity_regexp, claims=claims)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    key = None
    if key_path is not None:
        try:
            key = load_pem_public_key(read_bytes(key_path, 1024 * 1024))
        except ValueError as exc:
            raise InputError(str(key_path), str(exc)) from exc
    private_pki = None
    if ca_roots is not None:
        if trusted_root is not None:
            raise click.UsageError("--ca-roots and --trusted-root are mutually exclusive")
        intermediates = read_bytes(ca_intermediates, 1024 * 1024) if ca_intermediates else b""
        trust = trust_root_from_pems(str(ca_roots), read_bytes(ca_roots, 1024 * 1024), intermediates)
        private_pki = PrivatePki(now_utc(report))
    elif ca_intermediates is not None:
        raise click.UsageError("--ca-intermediates needs --ca-roots")
    else:
        trust = load_trust_root(trusted_root)
    policy = SignaturePolicy(trust=trust, identity=identity, key=key, require_tlog=require_tlog,
                             private_pki=private_pki)
    evidence = collect_image_evidence(image, docker_config=docker_config, signature_repo=signature_repository,
                                      timeout=timeout)
    result = evaluate(evidence, policy)
    finish([result], report, config={"signature": policy.config()})
