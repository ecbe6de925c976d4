"""GitHub-instance attestations found in a registry by ``verifier check sbom|signature`` and ``verifier gate``.

The local Debian docker-registry serves an image with a real GitHub-instance bundle attached the way
actions/attest's ``push-to-registry`` attaches it: an OCI 1.1 referrer whose artifact type and layer are
``application/vnd.dev.sigstore.bundle.v0.3+json``, annotated with the predicate type (this registry has no
referrers API: the ``sha256-<hex>`` tag-schema index lists it). The bundle's subject is another artifact (no
public GitHub-instance bundle names an image that can be served here), so every case is a deny; what differs
is how far verification got, which shows which instance's rules applied.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli import Run, run_cli
from tests.conftest import UPSTREAM
from tests.integration.conftest import BUNDLE_V03, LocalRegistry

pytestmark = pytest.mark.registry

GITHUB_BUNDLE = (
    UPSTREAM
    / "provenance/automata/samples/actions-attest-build-provenance-attestation-13581567.sigstore.json"
).read_bytes()
PROBER = "https://github.com/actions/attest-build-provenance/.github/workflows/prober.yml@refs/heads/main"
ACTIONS = "https://token.actions.githubusercontent.com"
NOW = "2026-11-26T12:00:00Z"


@pytest.fixture(scope="module")
def image(registry: LocalRegistry) -> tuple[str, str]:
    """(reference by digest, digest) of an image with the GitHub bundle attached twice: annotated as an SPDX
    SBOM (as attest-sbom would) and as a cosign signature."""
    repo = registry.new_repo("ghroot")
    digest, raw = registry.push_image(repo, "v1")
    for predicate in ("https://spdx.dev/Document/v2.3", "https://sigstore.dev/cosign/sign/v1"):
        registry.attach_referrer(
            repo,
            digest,
            len(raw),
            GITHUB_BUNDLE,
            artifact_type=BUNDLE_V03,
            annotations={
                "dev.sigstore.bundle.content": "dsse-envelope",
                "dev.sigstore.bundle.predicateType": predicate,
            },
        )
    return registry.ref(repo, digest), digest


def check(
    capsys: pytest.CaptureFixture[str], kind: str, ref: str, *extra: str
) -> tuple[Run, dict[str, Any]]:
    result = run_cli(capsys, "check", kind, ref, "--format", "json", "--now", NOW, *extra)
    return result, json.loads(result.out) if result.out.strip().startswith("{") else {}


def _reasons(result: dict[str, Any]) -> set[str]:
    return {f["rule"] for f in result["findings"]} | {
        f.get("properties", {}).get("reason", "") for f in result["findings"]
    }


@pytest.mark.parametrize("kind", ["sbom", "signature"])
def test_github_instance_referrer_is_verified_then_denied_for_its_subject(
    image: tuple[str, str], capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    ref, digest = image
    run, report = check(
        capsys, kind, ref, "--certificate-identity", PROBER, "--certificate-oidc-issuer", ACTIONS
    )
    assert run.code == 1, run.err
    [result] = report["results"]
    # GitHub's rules were chosen (public-good's would have stopped at the missing log entry) and the DSSE
    # signature verified; then the statement's subject, another artifact, denies before the timestamp and
    # the chain are looked at.
    expected = "subject-mismatch" if kind == "sbom" else "artifact-mismatch"
    assert expected in _reasons(result), result["findings"]
    assert "tlog-entry-missing" not in _reasons(result)
    assert report["decision"]["allowed"] is False
    policy = result["facts"].get("policy") or {}
    if kind == "signature":
        assert policy["trusted_roots"] == ["pinned:public-good", "pinned:github"]


@pytest.mark.parametrize("kind", ["sbom", "signature"])
def test_public_good_only_refuses_the_github_instance_before_anything_else(
    image: tuple[str, str], capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    ref, _ = image
    run, report = check(
        capsys,
        kind,
        ref,
        "--certificate-identity",
        PROBER,
        "--certificate-oidc-issuer",
        ACTIONS,
        "--sigstore-instance",
        "public-good",
    )
    assert run.code == 1, run.err
    [result] = report["results"]
    assert "tlog-entry-missing" in _reasons(result)
    if kind == "signature":
        assert result["facts"]["policy"]["trusted_roots"] == ["pinned:public-good"]


def test_gate_reads_the_instances_from_verifier_yaml(
    image: tuple[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ref, _ = image
    config = tmp_path / "verifier.yaml"
    config.write_text(
        "image: " + ref + "\n"
        "signers:\n"
        "  identity:\n"
        f"    identity: {PROBER}\n"
        f"    issuer: {ACTIONS}\n"
        "  instances: [public-good]\n"
    )
    run = run_cli(capsys, "gate", "--config", str(config), "--format", "json", "--now", NOW)
    assert run.code == 1, run.err
    report = json.loads(run.out)
    [result] = [r for r in report["results"] if r["check"] == "signature"]
    assert "tlog-entry-missing" in _reasons(result)
    assert result["facts"]["policy"]["trusted_roots"] == ["pinned:public-good"]


def test_an_unknown_instance_is_a_usage_error(
    image: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    ref, _ = image
    run, _ = check(
        capsys,
        "signature",
        ref,
        "--certificate-identity",
        PROBER,
        "--certificate-oidc-issuer",
        ACTIONS,
        "--sigstore-instance",
        "githubb",
    )
    assert run.code == 2
    assert "githubb" in run.err
