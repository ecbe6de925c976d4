"""``verifier check signature IMAGE``: the image is signed by a trusted signer (cosign / Sigstore)."""

from __future__ import annotations

from pathlib import Path

import click

from verifier.adapters.common import ReportOptions, finish, now_utc, report_options
from verifier.adapters.signer_options import SignerArgs, signer_options


@click.command("signature")
@click.argument("image")
@signer_options
@click.option(
    "--ca-roots",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM root certificates of a private PKI (no Rekor, no CT): keyless signatures whose chain "
    "leads to them are verified at --now (default: now) instead of a transparency-log time.",
)
@click.option(
    "--ca-intermediates",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM intermediate certificates for --ca-roots.",
)
@report_options
def command(
    image: str,
    signer: SignerArgs,
    ca_roots: Path | None,
    ca_intermediates: Path | None,
    report: ReportOptions,
) -> None:
    """Verify IMAGE's cosign signatures (legacy .sig and cosign v3 / Sigstore bundle referrers).

    IMAGE is registry/repo@sha256:…, registry/repo:tag (resolved to a digest once) or
    oci-layout:PATH[@sha256:…]. The image passes when at least one signature satisfies the policy;
    every signature that does not is reported with its reason.
    """
    from verifier.checks.signature import SignaturePolicy, evaluate
    from verifier.sigstore.legacy import PrivatePki
    from verifier.sigstore.trust import load_trust_root, trust_root_from_pems
    from verifier.sources.files import read_bytes

    identity = signer.identity_policy(issuer_optional=ca_roots is not None)
    key = signer.public_key()
    private_pki = None
    if ca_roots is not None:
        if signer.trusted_root is not None:
            raise click.UsageError("--ca-roots and --trusted-root are mutually exclusive")
        intermediates = read_bytes(ca_intermediates, 1024 * 1024) if ca_intermediates else b""
        trust = trust_root_from_pems(
            str(ca_roots), read_bytes(ca_roots, 1024 * 1024), intermediates
        )
        private_pki = PrivatePki(now_utc(report))
    elif ca_intermediates is not None:
        raise click.UsageError("--ca-intermediates needs --ca-roots")
    else:
        trust = load_trust_root(signer.trusted_root)
    policy = SignaturePolicy(
        trust=trust,
        identity=identity,
        key=key,
        require_tlog=signer.require_tlog,
        private_pki=private_pki,
    )
    result = evaluate(signer.collect(image), policy)
    finish([result], report, config={"signature": policy.config()})
