"""Evidence collected by sources (OCI registry, OCI layout) for the image checks.

Sources fill these in after re-hashing every manifest and blob against its descriptor; checks verify the
cryptography and identities. Nothing here is trusted yet: it is exactly what the registry served.
Fields may be added; never renamed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureLayer:
    """One layer of a legacy cosign ``sha256-<hex>.sig`` manifest (simplesigning payload + annotations)."""

    payload: bytes
    media_type: str
    annotations: dict[
        str, str
    ]  # dev.cosignproject.cosign/signature, dev.sigstore.cosign/certificate, ...
    # Where it came from: the digest of the ``.sig`` manifest and of this layer (both re-hashed).
    manifest_digest: str = ""
    layer_digest: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AttestationLayer:
    """One layer of a legacy cosign ``sha256-<hex>.att`` manifest: a DSSE envelope (JSON bytes)."""

    envelope: bytes
    media_type: str
    annotations: dict[
        str, str
    ]  # predicateType, dev.sigstore.cosign/certificate, dev.sigstore.cosign/bundle, ...
    # Where it came from: the digest of the ``.att`` manifest and of this layer (both re-hashed).
    manifest_digest: str = ""
    layer_digest: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferrerBundle:
    """A Sigstore bundle attached as an OCI 1.1 referrer (cosign v3, sigstore-js) or tag-schema index entry."""

    artifact_type: str
    bundle: bytes
    annotations: dict[
        str, str
    ]  # the referrer manifest's annotations (dev.sigstore.bundle.predicateType, ...)
    manifest_digest: str
    layer_digest: str = ""  # digest of the bundle blob


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageEvidence:
    """Everything found about one image. ``digest`` is the manifest digest the tag resolved to (once)."""

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
