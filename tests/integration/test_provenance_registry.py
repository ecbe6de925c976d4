"""The provenance check over the local Debian docker-registry: slsa-verifier's real OCI layouts (cosign ``.att``
provenance plus unsigned BuildKit attestation manifests) and a real GitHub-instance attestation stored as an
OCI 1.1 referrer, collected over HTTP and verified end to end."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import (  # noqa: F401 - fixtures used by name
    LocalRegistry,
    registry,
)
from tests.unit.checks.provenance_cases import EXPECTED, PROV
from verifier.checks.provenance import ProvenanceConfig, evaluate, policy_from_config
from verifier.sources.provenance import collect_image_provenance, provenance_in_store

LAYOUTS = {
    layout["builder_version"]: layout
    for layout in EXPECTED["slsa-verifier/gha_generic_container"]["layouts"]
}
SOURCE = "github.com/slsa-framework/example-package"
BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"


def serve_layout(reg: LocalRegistry, layout: Path, repo: str) -> str:
    """Write a ``cosign save`` layout into the registry's storage (its image layers were never published, so
    the registry's PUT checks are bypassed) and return the image digest. The ``.att`` manifest gets cosign's
    ``sha256-<hex>.att`` tag; every other manifest is reachable by digest."""
    base = reg.root / "docker" / "registry" / "v2" / "repositories" / repo
    for blob in sorted((layout / "blobs" / "sha256").iterdir()):
        digest = reg.write_blob(blob.read_bytes())
        link = base / "_layers" / "sha256" / digest[7:] / "link"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.write_text(digest)
    index = json.loads((layout / "index.json").read_text())
    image = next(
        e["digest"]
        for e in index["manifests"]
        if e.get("annotations", {}).get("kind", "").endswith(("/image", "/imageIndex"))
    )

    def link_manifest(digest: str, tag: str) -> None:
        reg.link_tag(repo, tag, digest)
        raw = json.loads((layout / "blobs" / "sha256" / digest[7:]).read_bytes())
        for child in raw.get("manifests", []):
            if (layout / "blobs" / "sha256" / child["digest"][7:]).is_file():
                link_manifest(child["digest"], "m-" + child["digest"][7:19])

    for entry in index["manifests"]:
        kind = entry.get("annotations", {}).get("kind", "")
        tag = image.replace(":", "-") + ".att" if kind.endswith("/atts") else "latest"
        link_manifest(entry["digest"], tag)
    return str(image)


def _result(ref: str, **cfg: Any) -> Any:
    evidence = collect_image_provenance(ref)
    return evidence, evaluate(evidence, policy_from_config(ProvenanceConfig(**cfg)))


@pytest.mark.parametrize("version", ["v1.4.0", "v1.9.0", "v2.1.0"])
def test_slsa_generator_provenance_from_the_registry(registry: LocalRegistry, version: str) -> None:
    layout = LAYOUTS[version]
    repo = registry.new_repo("prov")
    image = serve_layout(registry, PROV / layout["layout_dir"], repo)
    assert image == layout["image_digest"]
    evidence, result = _result(registry.ref(repo, image), source_repository=SOURCE, branch="main")
    assert evidence.source == "registry" and not evidence.problems
    assert result.verdict == "pass", result.findings
    assert result.facts["build_level"] == 3
    assert result.facts["builder"] == layout["builder_id_in_predicate"]
    assert result.facts["source"]["repository"] == SOURCE
    assert result.facts["source"]["commit"] == layout["source_commit"]
    [verified] = result.facts["verified"]
    assert verified["signer"]["identity"] == layout["cert_SAN"]
    # From v1.5.0 on, the image index also holds BuildKit provenance: read, bound to its platform manifest,
    # and never counted as verified.
    buildkit = layout["buildkit_attestations_in_image_index"]
    assert len(result.facts["unsigned"]) == len(buildkit)
    for fact, expected in zip(result.facts["unsigned"], buildkit, strict=True):
        assert set(fact["subjects"]) == {expected["refers_to"]}
        assert fact["builder_id"] == expected["builder_id"]
        assert not fact["satisfies_policy"]

    # The same image judged by a policy for another source, and by a pinned builder version it was not
    # built with: denied, naming both values.
    _, other = _result(registry.ref(repo, image), source_repository=SOURCE + "-fork")
    assert other.verdict == "fail"
    assert any(
        f.rule == "source-mismatch" and SOURCE + "-fork" in f.message and SOURCE in f.message
        for f in other.findings
    )
    _, pinned = _result(
        registry.ref(repo, image),
        builder_id=layout["builder_id_in_predicate"].split("@")[0] + "@v0.0.1",
    )
    assert [f.rule for f in pinned.findings if f.severity != "low"] == ["builder-mismatch"]


def test_unsigned_buildkit_provenance_alone_does_not_pass(registry: LocalRegistry) -> None:
    """The docker-attest layout (buildx --provenance mode=max, no signature) from the registry."""
    layout = PROV / "docker-attest" / "test" / "testdata" / "unsigned-index"
    repo = registry.new_repo("prov")
    base = registry.root / "docker" / "registry" / "v2" / "repositories" / repo
    for blob in sorted((layout / "blobs" / "sha256").iterdir()):
        digest = registry.write_blob(blob.read_bytes())
        link = base / "_layers" / "sha256" / digest[7:] / "link"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.write_text(digest)
    index = json.loads((layout / "index.json").read_text())
    [entry] = index["manifests"]
    registry.link_tag(repo, "test", entry["digest"])
    for child in json.loads((layout / "blobs" / "sha256" / entry["digest"][7:]).read_bytes())[
        "manifests"
    ]:
        registry.link_tag(repo, "c-" + child["digest"][7:19], child["digest"])
    evidence, result = _result(registry.ref(repo, "test"))
    assert evidence.digest == entry["digest"]
    assert result.verdict == "fail"
    assert result.findings[0].rule == "provenance-unsigned"
    assert len(result.facts["unsigned"]) == 2
    assert result.facts["build_level"] == 0
    assert result.facts["other_attestations"] == 2  # the SPDX statements


def test_github_instance_attestation_as_an_oci_referrer(registry: LocalRegistry) -> None:
    """What attest-build-provenance with push-to-registry writes, for a private repository (GitHub's
    instance): a referrer whose layer is the bundle. The bundle is a real one; its subject is an artifact
    digest, so the referrer names that digest and the collector is asked for it without the subject's
    manifest (no content can have that digest here)."""
    from verifier.sources.oci_registry import RegistryStore

    bundle = (
        PROV / "automata/samples/actions-attest-build-provenance-attestation-13581567.sigstore.json"
    ).read_bytes()
    subject = "sha256:658913cfebe8a49165264e2b5e54ad99b3bdbfbc8cd281b3cfaa949a21588f18"
    repo = registry.new_repo("prov")
    registry.attach_referrer(
        repo,
        subject,
        1234,
        bundle,
        artifact_type=BUNDLE_V03,
        annotations={"dev.sigstore.bundle.predicateType": "https://slsa.dev/provenance/v1"},
    )
    store = RegistryStore(registry.client(), repo)
    evidence = provenance_in_store(store, subject, None, subject="artifact", source="registry")
    assert [i.kind for i in evidence.items] == ["sigstore-bundle"]
    prober = "https://github.com/actions/attest-build-provenance/.github/workflows/prober.yml"
    cfg = ProvenanceConfig(
        builder_id=prober,
        source_repository="github.com/actions/attest-build-provenance",
        source_repository_id="760702757",
        branch="main",
        workflow_path=".github/workflows/prober-github.yml",
    )
    result = evaluate(evidence, policy_from_config(cfg))
    assert result.verdict == "pass", result.findings
    assert result.facts["build_level"] == 2  # a verified builder not named hardened
    assert result.facts["verified"][0]["signer"]["claims"][
        "source_repository_visibility_at_signing"
    ] == ("public")
    # Against the public-good root alone the same referrer is refused.
    only_public = dataclasses.replace(cfg, instances=("public-good",))
    refused = evaluate(evidence, policy_from_config(only_public))
    assert refused.verdict == "fail"
    assert refused.findings[0].rule in {"tlog-entry-missing", "certificate-chain-invalid"}
