"""Collect what may be build provenance for an image or an artifact. Nothing is verified here.

From an image (``collect_image_provenance``), over the registry client's and the OCI layout's public reads:

- cosign ``sha256-<hex>.att`` layers (DSSE envelopes with the certificate and Rekor annotations);
- Sigstore bundles attached as OCI 1.1 referrers (cosign v3, ``actions/attest-build-provenance`` with
  ``push-to-registry: true``: artifactType ``application/vnd.dev.sigstore.bundle.v0.3+json``);
- BuildKit attestation manifests inside the image index (``vnd.docker.reference.type: attestation-manifest``,
  ``--provenance mode=min|max``): their ``application/vnd.in-toto+json`` layers are unsigned statements.

Attestations whose annotations name another predicate type (SBOM, vulnerability scan, cosign signatures) are
listed in ``other_attestations`` and not read. From files (``collect_file_provenance``, offline):
``gh attestation download`` JSONL (one bundle per line), Sigstore bundles, DSSE envelopes, bare statements
and ``gcloud … --show-provenance`` JSON.

Errors: as :func:`verifier.sources.image.collect_image_evidence` (InputError for a bad reference, layout or
file; NetworkError / OciSourceError for the registry).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from verifier.errors import InputError
from verifier.models.evidence import AttestationLayer, ImageEvidence, ReferrerBundle
from verifier.models.provenance import (
    KIND_BUILDKIT,
    KIND_COSIGN_ATT,
    KIND_FILE_BUNDLE,
    KIND_FILE_ENVELOPE,
    KIND_FILE_STATEMENT,
    KIND_GCLOUD,
    KIND_REFERRER_BUNDLE,
    ProvenanceEvidence,
    ProvenanceItem,
)
from verifier.sources.deadline import within
from verifier.sources.docker_config import load_credentials
from verifier.sources.files import read_bytes
from verifier.sources.image import OCI_LAYOUT_PREFIX, parse_layout_ref
from verifier.sources.oci_common import (
    DEFAULT_LIMITS,
    BlobNotFoundError,
    ContentStore,
    Descriptor,
    InvalidManifestError,
    Limits,
    Manifest,
    ManifestNotFoundError,
    collect_all,
)
from verifier.sources.oci_common import _run_parallel as run_parallel
from verifier.sources.oci_layout import OciLayout

if TYPE_CHECKING:
    from verifier.sources.oci_registry import RegistryPool

REFERENCE_TYPE = "vnd.docker.reference.type"
REFERENCE_DIGEST = "vnd.docker.reference.digest"
ATTESTATION_MANIFEST = "attestation-manifest"
INTOTO_MEDIA_TYPE = "application/vnd.in-toto+json"
INTOTO_PREDICATE_ANNOTATION = "in-toto.io/predicate-type"
COSIGN_PREDICATE_ANNOTATION = "predicateType"
BUNDLE_PREDICATE_ANNOTATION = "dev.sigstore.bundle.predicateType"
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_FILE_ITEMS = 256


def is_provenance_hint(predicate_type: str | None) -> bool:
    """Whether an annotation's predicate type may be provenance (absent: unknown, so it may be)."""
    if not predicate_type:
        return True
    return predicate_type.startswith(
        ("https://slsa.dev/provenance/", "https://in-toto.io/Provenance")
    )


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _att_items(layers: Iterable[AttestationLayer], other: list[str]) -> list[ProvenanceItem]:
    items = []
    for layer in layers:
        hint = layer.annotations.get(COSIGN_PREDICATE_ANNOTATION)
        where = f"att-layer {layer.layer_digest or layer.manifest_digest}"
        if not is_provenance_hint(hint):
            other.append(f"{where} {hint}")
            continue
        items.append(
            ProvenanceItem(
                kind=KIND_COSIGN_ATT,
                where=where,
                data=layer.envelope,
                digest=layer.layer_digest or _sha256(layer.envelope),
                annotations=dict(layer.annotations),
                media_type=layer.media_type,
            )
        )
    return items


def _referrer_items(referrers: Iterable[ReferrerBundle], other: list[str]) -> list[ProvenanceItem]:
    items = []
    for ref in referrers:
        hint = ref.annotations.get(BUNDLE_PREDICATE_ANNOTATION)
        where = f"referrer {ref.manifest_digest}"
        if not is_provenance_hint(hint):
            other.append(f"{where} {hint}")
            continue
        items.append(
            ProvenanceItem(
                kind=KIND_REFERRER_BUNDLE,
                where=where,
                data=ref.bundle,
                digest=ref.layer_digest or _sha256(ref.bundle),
                annotations=dict(ref.annotations),
                media_type=ref.artifact_type,
            )
        )
    return items


def buildkit_items(
    store: ContentStore,
    index: Manifest,
    limits: Limits,
    other: list[str],
    problems: list[str],
    *,
    parallel: bool = True,
) -> tuple[list[ProvenanceItem], list[str]]:
    """The provenance statements of the BuildKit attestation manifests of ``index``, and the digests of its
    platform manifests. Unreadable attestation manifests are problems, not errors.

    From a registry the attestation manifests (one per platform) are read concurrently on the shared
    collect pool, under the caller's deadline (:func:`verifier.sources.oci_common.collect_all` does the same
    for the signature lookups); ``parallel=False`` or a layout reads them in order. Either way the results
    are in the index's order, and the first error in that order is raised.
    """
    if not index.is_index:
        return [], []
    platforms = [
        d.digest
        for d in index.manifests
        if d.annotations.get(REFERENCE_TYPE) != ATTESTATION_MANIFEST
    ]
    attestation_manifests = [
        d for d in index.manifests if d.annotations.get(REFERENCE_TYPE) == ATTESTATION_MANIFEST
    ]
    if len(attestation_manifests) > limits.referrers:
        problems.append(
            f"{store.name}: {len(attestation_manifests)} attestation manifests in {index.digest}, only "
            f"the first {limits.referrers} were read"
        )
        attestation_manifests = attestation_manifests[: limits.referrers]
    parts = [_BuildkitPart() for _ in attestation_manifests]
    tasks: list[Callable[[], None]] = [
        functools.partial(_read_attestation_manifest, store, desc, limits, part)
        for desc, part in zip(attestation_manifests, parts, strict=True)
    ]
    if parallel and len(tasks) > 1 and not isinstance(store, OciLayout):
        run_parallel(tasks)
    else:
        for task in tasks:
            task()
    items: list[ProvenanceItem] = []
    for part in parts:
        items += part.items
        other += part.other
        problems += part.problems
    return items, platforms


@dataclass
class _BuildkitPart:
    """What one attestation manifest gave (filled by one task, merged in the index's order)."""

    items: list[ProvenanceItem] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _read_attestation_manifest(
    store: ContentStore, desc: Descriptor, limits: Limits, out: _BuildkitPart
) -> None:
    refers_to = desc.annotations.get(REFERENCE_DIGEST, "")
    try:
        manifest = store.get_manifest(desc.digest, desc.size)
    except (ManifestNotFoundError, InvalidManifestError) as exc:
        out.problems.append(f"attestation manifest {desc.digest}: {exc}")
        return
    for layer in manifest.layers[: limits.layers]:
        hint = layer.annotations.get(INTOTO_PREDICATE_ANNOTATION)
        where = f"buildkit {desc.digest} layer {layer.digest}"
        if layer.media_type != INTOTO_MEDIA_TYPE or not is_provenance_hint(hint):
            out.other.append(f"{where} {hint or layer.media_type}")
            continue
        if layer.size > limits.blob_bytes:
            out.problems.append(f"{where}: {layer.size} bytes, over the blob limit")
            continue
        try:
            data = store.get_blob(layer, f"{store.name} {where}")
        except BlobNotFoundError as exc:
            out.problems.append(f"{where}: {exc}")
            continue
        out.items.append(
            ProvenanceItem(
                kind=KIND_BUILDKIT,
                where=where,
                data=data,
                digest=layer.digest,
                annotations=dict(layer.annotations),
                media_type=layer.media_type,
                refers_to=refers_to,
            )
        )


def collect_image_provenance(
    ref: str,
    *,
    docker_config: Path | None = None,
    timeout: float = 10.0,
    limits: Limits = DEFAULT_LIMITS,
    insecure: bool = False,
    pool: RegistryPool | None = None,
    parallel: bool = True,
) -> ProvenanceEvidence:
    """Resolve ``ref`` to one digest (a tag once) and collect every provenance candidate for it. Without
    ``pool``, ``timeout`` is the deadline of the whole call (the caller's wins when it is earlier)."""
    with ExitStack() as stack:
        if pool is None:
            stack.enter_context(within(timeout, "--timeout"))
        store: ContentStore
        if ref.startswith(OCI_LAYOUT_PREFIX):
            path, digest, tag = parse_layout_ref(ref)
            layout = OciLayout(path, limits)
            image = layout.select_image(digest=digest, tag=tag)
            store, source = layout, "oci-layout"
        else:
            from verifier.sources.oci_registry import (
                RegistryClient,
                RegistryStore,
                parse_registry_ref,
            )

            parsed = parse_registry_ref(ref)
            creds = load_credentials(parsed.registry, docker_config)
            if pool is not None:
                client = pool.client(parsed.registry, creds)
            else:
                client = stack.enter_context(
                    RegistryClient(
                        parsed.registry,
                        credentials=creds,
                        timeout=timeout,
                        limits=limits,
                        insecure=insecure,
                    )
                )
            registry_store = RegistryStore(client, parsed.repository)
            image = (
                registry_store.get_manifest(parsed.digest)
                if parsed.digest
                else client.get_manifest(parsed.repository, parsed.tag)
            )
            store, source = registry_store, "registry"
        return provenance_in_store(
            store, image.digest, image, limits, subject=ref, source=source, parallel=parallel
        )


def provenance_in_store(
    store: ContentStore,
    digest: str,
    image: Manifest | None,
    limits: Limits = DEFAULT_LIMITS,
    *,
    subject: str = "",
    source: str = "",
    parallel: bool = False,
) -> ProvenanceEvidence:
    """Every provenance candidate for ``digest`` in ``store``; ``image`` (its manifest, when fetched) gives the
    BuildKit attestation manifests of an index."""
    found = collect_all(
        store, digest, limits, parallel=parallel and source == "registry", attestations=True
    )
    other: list[str] = []
    problems = list(found.problems)
    items = _att_items(found.attestations, other)
    items += _referrer_items(found.referrers, other)
    platforms: list[str] = []
    if image is not None:
        kit, platforms = buildkit_items(
            store, image, limits, other, problems, parallel=parallel and source == "registry"
        )
        items += kit
    return ProvenanceEvidence(
        subject=subject or digest,
        digest=digest,
        items=tuple(items),
        platform_digests=tuple(platforms),
        other_attestations=tuple(other),
        problems=tuple(problems),
        source=source,
    )


@dataclass(frozen=True)
class BuildkitFound:
    """The BuildKit attestation statements of an image index, its platform manifests, what else it holds."""

    items: tuple[ProvenanceItem, ...] = ()
    platforms: tuple[str, ...] = ()
    other: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


def buildkit_for_image(
    ref: str,
    digest: str,
    *,
    docker_config: Path | None = None,
    timeout: float = 10.0,
    pool: RegistryPool | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> BuildkitFound:
    """The BuildKit provenance of the image ``ref`` resolved to ``digest``: its manifest is read by digest
    (one lookup; for a single-platform manifest that is all) and each attestation manifest it lists
    (concurrently). Without ``pool``, ``timeout`` is the deadline of the whole call, as in
    :func:`verifier.sources.image.collect_image_evidence`; the caller's deadline wins when it is earlier."""
    with ExitStack() as stack:
        if pool is None:
            stack.enter_context(within(timeout, "--timeout"))
        store: ContentStore
        if ref.startswith(OCI_LAYOUT_PREFIX):
            path, _, _ = parse_layout_ref(ref)
            store = OciLayout(path, limits)
        else:
            from verifier.sources.oci_registry import (
                RegistryClient,
                RegistryStore,
                parse_registry_ref,
            )

            parsed = parse_registry_ref(ref)
            creds = load_credentials(parsed.registry, docker_config)
            client = (
                pool.client(parsed.registry, creds)
                if pool is not None
                else stack.enter_context(
                    RegistryClient(
                        parsed.registry, credentials=creds, timeout=timeout, limits=limits
                    )
                )
            )
            store = RegistryStore(client, parsed.repository)
        image = store.get_manifest(digest)
        other: list[str] = []
        problems: list[str] = []
        items, platforms = buildkit_items(store, image, limits, other, problems)
        return BuildkitFound(tuple(items), tuple(platforms), tuple(other), tuple(problems))


def from_image_evidence(
    image: ImageEvidence, kit: BuildkitFound | None = None
) -> ProvenanceEvidence:
    """Provenance candidates among what the image checks already collected (``.att`` layers, referrer
    bundles), plus BuildKit's."""
    other: list[str] = []
    items = _att_items(image.attestations, other) + _referrer_items(image.referrers, other)
    kit = kit or BuildkitFound()
    return ProvenanceEvidence(
        subject=image.ref,
        digest=image.digest,
        items=tuple(items) + kit.items,
        platform_digests=kit.platforms,
        other_attestations=tuple(other) + kit.other,
        problems=tuple(image.problems) + kit.problems,
        source=image.source,
    )


def _file_item(doc: object, raw: bytes, where: str) -> ProvenanceItem:
    """Classify one decoded JSON document of an attestation file."""
    if isinstance(doc, dict) and isinstance(doc.get("bundle"), dict):
        doc = doc["bundle"]  # older `gh attestation download` lines wrap the bundle
        raw = json.dumps(doc).encode()
    if not isinstance(doc, dict):
        raise InputError(where, "not a JSON object (expected a Sigstore bundle, DSSE or statement)")
    media_type = doc.get("mediaType")
    if isinstance(media_type, str) and media_type.startswith("application/vnd.dev.sigstore.bundle"):
        kind = KIND_FILE_BUNDLE
    elif "payloadType" in doc and "signatures" in doc:
        kind = KIND_FILE_ENVELOPE
    elif "provenance_summary" in doc or "image_summary" in doc:
        kind = KIND_GCLOUD
    elif "_type" in doc or "predicateType" in doc or "subject" in doc:
        kind = KIND_FILE_STATEMENT
    else:
        raise InputError(
            where, "not a Sigstore bundle, DSSE envelope, in-toto statement or gcloud provenance"
        )
    return ProvenanceItem(
        kind=kind,
        where=where,
        data=raw,
        digest=_sha256(raw),
        annotations={},
        media_type=media_type if isinstance(media_type, str) else "",
    )


def read_attestation_file(path: str | Path) -> list[ProvenanceItem]:
    """The attestations in one file: a JSON document, or JSON Lines (one document per line)."""
    name = str(path)
    raw = read_bytes(path, MAX_FILE_BYTES)
    try:
        return [_file_item(json.loads(raw), raw, name)]
    except (ValueError, RecursionError):
        pass
    items: list[ProvenanceItem] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        if len(items) >= MAX_FILE_ITEMS:
            raise InputError(name, f"more than {MAX_FILE_ITEMS} attestations")
        try:
            doc = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise InputError(name, f"line {number} is not JSON: {exc}") from None
        items.append(_file_item(doc, line, f"{name}:{number}"))
    if not items:
        raise InputError(name, "no attestation in the file")
    return items


def collect_file_provenance(
    paths: Sequence[str | Path], digest: str, subject: str = ""
) -> ProvenanceEvidence:
    """Offline: the attestations in ``paths`` for the artifact or image ``digest`` (``sha256:<hex>``)."""
    items: list[ProvenanceItem] = []
    for path in paths:
        items += read_attestation_file(path)
    return ProvenanceEvidence(
        subject=subject or digest, digest=digest, items=tuple(items), source="files"
    )


def merge(evidence: ProvenanceEvidence, extra: Sequence[ProvenanceItem]) -> ProvenanceEvidence:
    """``evidence`` plus items read from files (the gate's ``provenance.files`` next to the image's own)."""
    if not extra:
        return evidence
    return ProvenanceEvidence(
        subject=evidence.subject,
        digest=evidence.digest,
        items=evidence.items + tuple(extra),
        platform_digests=evidence.platform_digests,
        other_attestations=evidence.other_attestations,
        problems=evidence.problems,
        source=evidence.source,
    )


__all__ = [
    "BuildkitFound",
    "buildkit_for_image",
    "buildkit_items",
    "from_image_evidence",
    "collect_file_provenance",
    "collect_image_provenance",
    "is_provenance_hint",
    "merge",
    "provenance_in_store",
    "read_attestation_file",
]
