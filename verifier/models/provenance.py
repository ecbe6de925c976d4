"""Provenance evidence collected by :mod:`verifier.sources.provenance` for the ``provenance`` check.

Nothing here is verified: each item is exactly what a registry, a layout or a file held (content re-hashed
against its descriptor where one exists). Fields may be added; never renamed.
"""

from __future__ import annotations

from dataclasses import dataclass

# Where an item came from; the check verifies each kind its own way.
KIND_COSIGN_ATT = (
    "cosign-att"  # legacy cosign .att layer: DSSE envelope + certificate/Rekor annotations
)
KIND_REFERRER_BUNDLE = "sigstore-bundle"  # Sigstore bundle attached as an OCI 1.1 referrer
KIND_BUILDKIT = "buildkit"  # BuildKit attestation-manifest layer: an UNSIGNED in-toto statement
KIND_FILE_BUNDLE = (
    "file-bundle"  # a Sigstore bundle from a file (gh attestation download, .sigstore.json)
)
KIND_FILE_ENVELOPE = (
    "file-envelope"  # a bare DSSE envelope from a file (verifiable only with a key)
)
KIND_FILE_STATEMENT = "file-statement"  # a bare in-toto statement from a file: UNSIGNED
KIND_GCLOUD = "gcloud"  # `gcloud artifacts docker images describe --show-provenance` JSON (GCB)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvenanceItem:
    """One candidate attestation as found. ``data`` is the bundle / envelope / statement / gcloud JSON."""

    kind: str
    where: str
    data: bytes
    digest: str  # sha256:<hex> of ``data``
    annotations: dict[str, str]
    media_type: str = ""
    # BuildKit: the platform manifest the attestation manifest is for (vnd.docker.reference.digest).
    refers_to: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvenanceEvidence:
    """Everything found that may be provenance for one artifact (an image digest or a file digest)."""

    subject: str
    digest: str
    items: tuple[ProvenanceItem, ...] = ()
    # For an image index: the digests of its platform manifests (what BuildKit statements name).
    platform_digests: tuple[str, ...] = ()
    # Attestations seen that are not provenance ("<where> <predicate type>"): counted, not judged.
    other_attestations: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    source: str = ""  # "registry" | "oci-layout" | "files"
