"""``verifier init [PATH]``: write a commented starter ``verifier.yaml``."""

from __future__ import annotations

from pathlib import Path

import click

STARTER = """\
# verifier.yaml: what `verifier gate --config verifier.yaml` checks before a release is deployed.
# Reference: docs/configuration.md. Editors: verifier/schemas/verifier.schema.json.
# Relative paths are relative to this file. A section that is present turns its check on; command-line
# options (--image, --sarif, --workflows, --trust-policy) override what is written here.
version: 1

# The image to admit: registry/repo@sha256:... (or :tag, resolved to a digest once),
# or oci-layout:PATH for an OCI image layout on disk.
image: ghcr.io/OWNER/REPO@sha256:0000000000000000000000000000000000000000000000000000000000000000

# Who may sign the image (check: signature). Keyless (Sigstore / GitHub OIDC) or a cosign public key.
signers:
  identity:
    # The workflow that signs, exactly (or identity_regexp: a fully anchored regular expression).
    identity: https://github.com/OWNER/REPO/.github/workflows/deploy.yml@refs/heads/main
    issuer: https://token.actions.githubusercontent.com
  # key: cosign.pub
  # trusted_root: trusted_root.json   # a private Sigstore deployment (default: the public-good root)
  # instances: [public-good]          # default [public-good, github]: GitHub's instance signs private repos

# A verified SBOM attestation from the same signer (check: sbom-attestation).
sbom:
  required: true
  # format: cyclonedx        # or spdx; default: either
  # max_age: 720h
  # denied_licenses: [AGPL-3.0-only]

# Trivy's report of the image (check: sarif-severity): `trivy image --format sarif -o trivy.sarif ...`.
sarif:
  files: [trivy.sarif]
  fail_on: high              # the lowest severity that denies: high = high and critical
  # ignore_files: [.trivyignore.yaml]   # waivers with a statement and an expiry
  # vex: [vex.openvex.json]
  # ignore_unfixed: false

# The workflows that build and deploy (check: actions-pinned): every `uses:` pinned to a full SHA.
workflows:
  paths: [.github/workflows, action.yml]
  # policy: {"*": hash-pin, "OWNER/*": ref-pin}
  # mode: warn                # roll out without denying

# The cloud roles the deploy workflow assumes (check: oidc-trust): AWS, GCP or Azure trust configs.
# trust_policies:
#   paths: [infra/trust-policy.json]

# Where the decision is made: the bundled Rego policies, your own bundle, or an OPA server.
policy:
  engine: embedded
  # bundle: policies/
  # engine: opa
  # opa_url: http://127.0.0.1:8181
"""


@click.command("init")
@click.argument("path", default="verifier.yaml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def command(path: Path, force: bool) -> None:
    """Write a commented starter verifier.yaml (default: ./verifier.yaml)."""
    if path.exists() and not force:
        raise click.UsageError(f"{path} already exists; use --force to overwrite it")
    try:
        path.write_text(STARTER, encoding="utf-8")
    except OSError as exc:
        raise click.UsageError(f"{path}: cannot write: {exc.strerror}") from exc
    click.echo(f"wrote {path}; edit it, then run: verifier gate --config {path}")
