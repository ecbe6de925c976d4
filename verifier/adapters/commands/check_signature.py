"""``verifier check signature IMAGE``: the image is signed by a trusted signer (cosign / Sigstore)."""

from __future__ import annotations

from pathlib import Path

import click

from verifier.adapters.common import ReportOptions, load_base_config, report_options, run_check
from verifier.adapters.signer_options import SignerArgs, signer_options

CHECK_ID = "signature"


@click.command("signature")
@click.argument("image")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="verifier.yaml; its `signers:` section applies unless the signer options below name a signer.",
)
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
    config_file: Path | None,
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
    import dataclasses

    if ca_roots is not None and signer.trusted_root is not None:
        raise click.UsageError("--ca-roots and --trusted-root are mutually exclusive")
    if ca_intermediates is not None and ca_roots is None:
        raise click.UsageError("--ca-intermediates needs --ca-roots")
    config = load_base_config(config_file)
    signers = signer.signers(
        config.sections.get("signers"), ca_roots=ca_roots, ca_intermediates=ca_intermediates
    )
    config = dataclasses.replace(config.with_sections(signers=signers), image=image)
    run_check(config, CHECK_ID, report, sources=signer.sources())
