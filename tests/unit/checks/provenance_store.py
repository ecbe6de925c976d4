"""An in-memory ContentStore for provenance tests that no real registry can serve.

A mock, on purpose: the real referrer manifest quoted by liatrio/autogov-workflows names a bundle blob that was
never published (expected.json ``oci-referrer``), and the Debian registry refuses a manifest whose blobs are
missing, so only a store of our own can present "the referrer exists, its bundle does not".
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from verifier.checks.provenance import ProvenanceConfig, evaluate, policy_from_config
from verifier.models import CheckResult
from verifier.sources.oci_common import (
    OCI_MANIFEST,
    BlobNotFoundError,
    Descriptor,
    Manifest,
    ManifestNotFoundError,
    parse_manifest,
)
from verifier.sources.provenance import provenance_in_store


class MemoryStore:
    """Manifests and blobs by digest; referrers found by each manifest's subject."""

    def __init__(self) -> None:
        self.manifests: dict[str, bytes] = {}
        self.blobs: dict[str, bytes] = {}

    @property
    def name(self) -> str:
        return "memory"

    def add_manifest(self, raw: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        self.manifests[digest] = raw
        return digest

    def get_manifest(self, digest: str, expected_size: int | None = None) -> Manifest:
        raw = self.manifests.get(digest)
        if raw is None:
            raise ManifestNotFoundError(f"memory: no manifest {digest}")
        return parse_manifest(raw, digest, OCI_MANIFEST, f"memory {digest}")

    def get_tagged_manifest(self, tag: str) -> Manifest | None:
        return None

    def get_blob(self, descriptor: Descriptor, what: str) -> bytes:
        data = self.blobs.get(descriptor.digest)
        if data is None:
            raise BlobNotFoundError(f"{what}: blob {descriptor.digest} not found")
        return data

    def list_referrers(self, digest: str) -> list[Descriptor] | None:
        out = []
        for d, raw in self.manifests.items():
            manifest = parse_manifest(raw, d, OCI_MANIFEST, d)
            if manifest.subject is not None and manifest.subject.digest == digest:
                out.append(
                    Descriptor(
                        media_type=manifest.media_type,
                        digest=d,
                        size=len(raw),
                        artifact_type=manifest.effective_artifact_type,
                    )
                )
        return out


def referrer_without_blob(path: Path) -> CheckResult:
    """The provenance check over a store holding only the referrer manifest at ``path``."""
    store = MemoryStore()
    raw = path.read_bytes()
    store.add_manifest(raw)
    manifest = parse_manifest(raw, "sha256:" + hashlib.sha256(raw).hexdigest(), OCI_MANIFEST, "x")
    assert manifest.subject is not None
    evidence = provenance_in_store(store, manifest.subject.digest, None, subject="memory")
    return evaluate(evidence, policy_from_config(ProvenanceConfig()))
