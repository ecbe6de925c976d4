"""The real documents the fuzzers start from (vendored under tests/assets/upstream, small ones only)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from verifier.sigstore.trust import PINNED_TRUSTED_ROOT

ASSETS = Path(__file__).resolve().parents[1] / "assets"
# A campaign may seed from the larger real corpora (same layout): VERIFIER_FUZZ_SEED_DIR=../shared/real.
UPSTREAM = Path(os.environ.get("VERIFIER_FUZZ_SEED_DIR") or ASSETS / "upstream")
CONFORMANCE = ASSETS / "upstream" / "sigstore-conformance" / "bundle-verify"
CONFORMANCE_IDENTITY = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
CONFORMANCE_ISSUER = "https://token.actions.githubusercontent.com"
MAX_SEED_BYTES = 30_000


def _small(paths: list[Path]) -> list[Path]:
    chosen = sorted(p for p in paths if p.is_file() and p.stat().st_size <= MAX_SEED_BYTES)
    assert chosen, f"no seed files among {paths[:3]}"
    return chosen


def json_seeds(*patterns: str) -> list[Any]:
    """Parsed JSON documents matching ``patterns`` under tests/assets/upstream."""
    paths = [p for pattern in patterns for p in UPSTREAM.glob(pattern)]
    return [json.loads(p.read_bytes()) for p in _small(paths)]


def byte_seeds(*patterns: str) -> list[bytes]:
    """Raw bytes of the files matching ``patterns``."""
    paths = [p for pattern in patterns for p in UPSTREAM.glob(pattern)]
    return [p.read_bytes() for p in _small(paths)]


def yaml_seeds(*patterns: str) -> list[Any]:
    """YAML documents with every scalar kept as text (``on:`` stays ``"on"``), for mutation and re-dumping."""
    paths = [p for pattern in patterns for p in UPSTREAM.glob(pattern)]
    return [
        yaml.load(p.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)  # noqa: S506 - BaseLoader builds only str, list, dict
        for p in _small(paths)[:12]
    ]


SARIF = json_seeds("sarif/trivy/*.json", "sarif/other/*.json")
SARIF_BYTES = byte_seeds("sarif/trivy/*.json")
CYCLONEDX = json_seeds("sbom/cyclonedx/*.cdx.json")
SBOM_TEXT_BYTES = byte_seeds("sbom/cyclonedx/*.cdx.xml", "sbom/spdx2/*.spdx")
SPDX = json_seeds("sbom/spdx2/*.spdx.json", "sbom/spdx3/*.json")
TRUST_POLICIES = json_seeds(
    "trust-policies/aws/*.json", "trust-policies/gcp/*.json", "trust-policies/azure/*.json"
)
# Terraform and YAML (CloudFormation, gcloud output) trust configurations, kept with their file suffix.
TRUST_POLICY_TEXTS = [
    (p.suffix, p.read_bytes())
    for p in sorted((ASSETS / "oidc-trust").rglob("*"))
    if p.suffix in (".tf", ".yaml") and p.name != "cases.yaml"
]
WORKFLOWS = yaml_seeds("workflows/sigstore__rekor/.github/workflows/*.yml")
WORKFLOW_BYTES = byte_seeds("workflows/sigstore__rekor/.github/workflows/*.yml")
# Happy paths on the pinned public-good root over a.txt: keyless ones and the key-signed one (key.pub).
BUNDLE_CASES = sorted(
    d
    for d in CONFORMANCE.iterdir()
    if d.is_dir()
    and not d.name.endswith("_fail")
    and not (d / "trusted_root.json").exists()
    and not (d / "artifact").exists()
)
BUNDLES = [json.loads((d / "bundle.sigstore.json").read_bytes()) for d in BUNDLE_CASES]
TRUSTED_ROOT = json.loads(PINNED_TRUSTED_ROOT.read_bytes())
