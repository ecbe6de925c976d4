"""Evidence collected by sources (OCI registry, OCI layout) for the image checks.

Sources fill these in after re-hashing every manifest and blob against its descriptor; checks verify the
cryptography and identities. Nothing here is trusted yet: it is exactly what the registry served.
Fields may be added; never renamed.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SignatureLayer(BaseModel):
    """One layer of a legacy cosign ``sha256-<hex>.sig`` manifest (simplesigning payload + annotations)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    payload: bytes
    media_type: str
    annotations: dict[str, str]  # dev.cosignproject.cosign/signature, dev.sigstore.cosign/certificate, ...
    # Where it came from: the digest of the ``.sig`` manifest and of this layer (both re-hashed).
    manifest_digest: str = ""
    layer_digest: str = ""


class AttestationLayer(BaseModel):
    """One layer of a legacy cosign ``sha256-<hex>.att`` manifest: a DSSE envelope (JSON bytes)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    envelope: bytes
    media_type: str
    annotations: dict[str, str]  # predicateType, dev.sigstore.cosign/certificate, dev.sigstore.cosign/bundle, ...
    # Where it came from: the digest of the ``.att`` manifest and of this layer (both re-hashed).
    manifest_digest: str = ""
    layer_digest: str = ""


class ReferrerBundle(BaseModel):
    """A Sigstore bundle attached as an OCI 1.1 referrer (cosign v3, sigstore-js) or tag-schema index entry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    artifact_type: str
    bundle: bytes
    annotations: dict[str, str]  # the referrer manifest's annotations (dev.sigstore.bundle.predicateType, ...)
    manifest_digest: str
    layer_digest: str = ""  # digest of the bundle blob


class ImageEvidence(BaseModel):
    """Everything found about one image. ``digest`` is the manifest digest the tag resolved to (once)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ref: str
    digest: str
    signatures: tuple[SignatureLayer, ...] = ()
    attestations: tuple[AttestationLayer, ...] = ()
    referrers: tuple[ReferrerBundle, ...] = ()
    # Non-fatal problems met while collecting (an unreadable referrer, a capped listing): reported, not hidden.
    problems: tuple[str, ...] = ()
    # Media type of the manifest at ``digest`` (an index for multi-platform images).
    media_type: str = ""
    # "registry" or "oci-layout".
    source: str = ""
    # Where signatures were looked up when not next to the image (like COSIGN_REPOSITORY); "" = same place.
    signature_repo: str = ""
    # Referrers that are not Sigstore bundles ("<digest> <artifactType>"): listed, not collected.
    other_referrers: tuple[str, ...] = ()
