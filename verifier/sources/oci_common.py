"""OCI pieces shared by the registry and the image-layout sources.

Digests, descriptors and manifests, the limits on sizes and counts, the error classes, and the discovery of
signatures over any content store (legacy cosign ``.sig``/``.att`` tags, OCI 1.1 referrers and the
``sha256-<hex>`` tag-schema index). A store hands out content only after re-hashing it against the digest it
was asked for; nothing here trusts a digest that a server or a file name claims.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from verifier.errors import InputError, NetworkError, SourceError
from verifier.models.evidence import AttestationLayer, ReferrerBundle, SignatureLayer

MIB = 1024 * 1024

# Media types (OCI image-spec v1.1 and the Docker distribution manifest v2 formats).
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
IMAGE_MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
MANIFEST_TYPES = IMAGE_MANIFEST_TYPES | INDEX_TYPES
# What we ask a registry for (order = preference; an index for multi-platform images).
MANIFEST_ACCEPT = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST])

# cosign (sigstore/cosign pkg/oci/static, pkg/types): simplesigning payload layers and DSSE attestation layers.
SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE_ENVELOPE = "application/vnd.dsse.envelope.v1+json"
# Sigstore bundles attached as referrers: "application/vnd.dev.sigstore.bundle.v0.3+json" (cosign v3,
# sigstore-js @sigstore/oci) and the older "application/vnd.dev.sigstore.bundle+json;version=0.x".
SIGSTORE_BUNDLE_PREFIX = "application/vnd.dev.sigstore.bundle"

_DIGEST_RE = re.compile(r"\A(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})\Z")
_HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}


# --------------------------------------------------------------------------------------------- errors


class OciSourceError(SourceError):
    """Evidence about an image could not be collected from a registry or an OCI layout."""


class DigestMismatchError(OciSourceError):
    """Content does not hash to the digest it was requested by or that its descriptor names."""

    def __init__(self, what: str, expected: str, actual: str) -> None:
        super().__init__(
            f"{what}: content hashes to {actual} but {expected} was expected "
            "(the registry or layout served altered content; refusing to use it)"
        )
        self.what = what
        self.expected = expected
        self.actual = actual


class SizeMismatchError(DigestMismatchError):
    """Content is shorter (truncated) or longer than the size its descriptor gives."""

    def __init__(self, what: str, expected_size: int, actual_size: int, more: bool = False) -> None:
        got = f"more than {actual_size}" if more else str(actual_size)
        OciSourceError.__init__(
            self,
            f"{what}: got {got} bytes but its descriptor says {expected_size} "
            "(truncated or altered content; refusing to use it)",
        )
        self.what = what
        self.expected = str(expected_size)
        self.actual = str(actual_size)


class ContentTooLargeError(OciSourceError):
    """A manifest or blob is larger than the configured cap."""

    def __init__(self, what: str, size: int | None, limit: int) -> None:
        have = f"{size} bytes" if size is not None else "too large"
        super().__init__(f"{what}: {have}, over the limit of {limit} bytes")
        self.what = what
        self.size = size
        self.limit = limit


class ManifestNotFoundError(OciSourceError):
    """The requested manifest (image or tag) does not exist."""


class BlobNotFoundError(OciSourceError):
    """A blob named by a descriptor is absent."""


class InvalidManifestError(OciSourceError):
    """A manifest or index is not valid JSON of the expected shape."""


class RegistryAuthError(OciSourceError):
    """The registry refused our credentials or demanded ones we do not have."""


# What a status means for the person reading the error (the registry is reachable: it answered).
_STATUS_HINTS = {
    429: "too many requests: the registry is rate-limiting us; retry later, or log in (docker login) "
    "for a higher limit",
    500: "an error inside the registry; retry later or check the registry's status",
    502: "a proxy in front of the registry got no valid answer from it; retry later",
    503: "the registry is unavailable or overloaded; retry later",
    504: "a proxy in front of the registry timed out waiting for it; retry later",
}


class RegistryAnswerError(NetworkError):
    """The registry (or its token server) answered, with a status we cannot use (429, 5xx, an unexpected
    4xx). Exit 3 like every network failure, but the hint says what it answered, not "is it reachable?"."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status

    def diagnostics(self) -> str:
        """The answer and what it usually means."""
        default = (
            "the registry refused the request"
            if self.status < 500
            else "an error on the registry's side; retry later"
        )
        return f"{self}\n(the registry is reachable and answered HTTP {self.status}: {_STATUS_HINTS.get(self.status, default)})"


class InvalidReferenceError(InputError):
    """An image reference or digest is malformed (usage error, exit 2)."""

    def __init__(self, ref: str, problem: str) -> None:
        super().__init__(ref, problem)


# --------------------------------------------------------------------------------------------- limits


@dataclass(frozen=True)
class Limits:
    """Caps that bound the work one image can cause. Exceeding a size cap is fatal; a count cap truncates
    the listing and records a problem."""

    # distribution (docker registry) refuses manifests over 4 MiB (registry/handlers/manifests.go
    # maxManifestBodySize); we refuse to read larger ones.
    manifest_bytes: int = 4 * MIB
    # Signature, attestation and bundle blobs. SBOM attestations of large images reach a few MiB.
    blob_bytes: int = 64 * MIB
    layers: int = 64  # layers read per signature/attestation manifest
    referrers: int = 128  # referrer manifests read per image
    index_entries: int = 4096  # entries of an OCI layout's index.json
    referrer_pages: int = 16  # pages of the referrers API followed
    token_bytes: int = 256 * 1024  # token-server answer


DEFAULT_LIMITS = Limits()


# --------------------------------------------------------------------------------------------- digests


def validate_digest(digest: str, where: str = "digest") -> str:
    """Return ``digest`` if it is ``sha256:<64 hex>`` or ``sha512:<128 hex>`` (lowercase), else raise."""
    if not _DIGEST_RE.match(digest):
        raise InvalidReferenceError(
            where, f"not a valid digest: {digest!r} (want sha256:<64 lowercase hex>)"
        )
    return digest


def compute_digest(data: bytes, algorithm: str = "sha256") -> str:
    """``sha256:<hex>`` of ``data``."""
    return f"{algorithm}:{_HASHES[algorithm](data).hexdigest()}"


def verify_content(
    data: bytes, expected_digest: str, what: str, expected_size: int | None = None
) -> None:
    """Raise SizeMismatchError / DigestMismatchError unless ``data`` is exactly what was expected."""
    if expected_size is not None and len(data) != expected_size:
        raise SizeMismatchError(what, expected_size, len(data))
    algorithm = expected_digest.split(":", 1)[0]
    actual = compute_digest(data, algorithm)
    if actual != expected_digest:
        raise DigestMismatchError(what, expected_digest, actual)


def cosign_payload(docker_reference: str, digest: str) -> bytes:
    """The simplesigning payload ``cosign sign`` writes for ``docker_reference@digest`` when the signer gave
    no annotations, byte for byte: Go's encoding/json output of cosign's payload type (compact, fields in
    declaration order, ``"optional":null``). Real cosign signatures in tests/assets match it exactly."""
    critical = {
        "identity": {"docker-reference": docker_reference},
        "image": {"docker-manifest-digest": digest},
        "type": "cosign container image signature",
    }
    return json.dumps({"critical": critical, "optional": None}, separators=(",", ":")).encode()


def known_payload(layer: Descriptor, digest: str, references: tuple[str, ...]) -> bytes | None:
    """The bytes of a ``.sig`` layer of ``digest`` when they are cosign's payload for one of ``references``.

    A descriptor names its blob by hash, so a payload that hashes to the layer's digest (and has its size)
    IS that blob: it need not be downloaded. Anything else (annotations, another signer's layout, another
    docker-reference) returns None and is fetched as usual.
    """
    if layer.media_type != SIMPLESIGNING:
        return None
    algorithm = layer.digest.split(":", 1)[0]
    for reference in references:
        payload = cosign_payload(reference, digest)
        if len(payload) == layer.size and compute_digest(payload, algorithm) == layer.digest:
            return payload
    return None


def digest_tag(digest: str, suffix: str = "") -> str:
    """``sha256:abc`` -> ``sha256-abc`` + suffix (cosign's ``.sig``/``.att`` and the referrers tag schema)."""
    return digest.replace(":", "-", 1) + suffix


# --------------------------------------------------------------------------------------------- manifests


def _str_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidManifestError(f"{where}: annotations must be an object of strings")
    return dict(value)


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor (only the fields we use)."""

    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    artifact_type: str = ""

    @classmethod
    def from_json(cls, obj: Any, where: str) -> Descriptor:
        """Validate one descriptor object; errors name ``where``."""
        if not isinstance(obj, dict):
            raise InvalidManifestError(f"{where}: descriptor is not an object")
        media_type = obj.get("mediaType", "")
        digest = obj.get("digest")
        size = obj.get("size")
        artifact_type = obj.get("artifactType", "")
        if not isinstance(media_type, str) or not isinstance(artifact_type, str):
            raise InvalidManifestError(f"{where}: mediaType/artifactType must be strings")
        if not isinstance(digest, str) or not _DIGEST_RE.match(digest):
            raise InvalidManifestError(f"{where}: invalid digest {digest!r}")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise InvalidManifestError(f"{where}: invalid size {size!r}")
        return cls(
            media_type=media_type,
            digest=digest,
            size=size,
            annotations=_str_map(obj.get("annotations"), where),
            artifact_type=artifact_type,
        )


@dataclass(frozen=True)
class Manifest:
    """A manifest or index whose bytes hash to ``digest`` (verified by the store that built it)."""

    digest: str
    media_type: str
    raw: bytes
    config: Descriptor | None
    layers: tuple[Descriptor, ...]
    manifests: tuple[Descriptor, ...]
    subject: Descriptor | None
    artifact_type: str
    annotations: Mapping[str, str]

    @property
    def is_index(self) -> bool:
        """True for an OCI index or Docker manifest list."""
        return self.media_type in INDEX_TYPES

    @property
    def effective_artifact_type(self) -> str:
        """``artifactType``, else the config media type (OCI image-spec v1.1 rule for artifacts)."""
        if self.artifact_type:
            return self.artifact_type
        return self.config.media_type if self.config else ""


def parse_manifest(raw: bytes, digest: str, content_type: str, where: str) -> Manifest:
    """Parse already-verified manifest bytes. ``content_type`` is used when the body has no mediaType."""
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidManifestError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise InvalidManifestError(f"{where}: manifest is not a JSON object")
    if doc.get("schemaVersion") != 2:
        raise InvalidManifestError(
            f"{where}: unsupported schemaVersion {doc.get('schemaVersion')!r} (only 2 is supported)"
        )
    body_type = doc.get("mediaType")
    if body_type is not None and not isinstance(body_type, str):
        raise InvalidManifestError(f"{where}: mediaType must be a string")
    header_type = content_type.split(";", 1)[0].strip()
    media_type = body_type or header_type
    if not media_type:
        media_type = OCI_INDEX if "manifests" in doc else OCI_MANIFEST
    if media_type not in MANIFEST_TYPES:
        raise InvalidManifestError(f"{where}: unsupported manifest media type {media_type!r}")
    config = None
    layers: tuple[Descriptor, ...] = ()
    manifests: tuple[Descriptor, ...] = ()
    if media_type in INDEX_TYPES:
        items = doc.get("manifests", [])
        if not isinstance(items, list):
            raise InvalidManifestError(f"{where}: 'manifests' must be a list")
        manifests = tuple(
            Descriptor.from_json(m, f"{where} manifests[{i}]") for i, m in enumerate(items)
        )
    else:
        config = Descriptor.from_json(doc.get("config"), f"{where} config")
        items = doc.get("layers", [])
        if not isinstance(items, list):
            raise InvalidManifestError(f"{where}: 'layers' must be a list")
        layers = tuple(Descriptor.from_json(m, f"{where} layers[{i}]") for i, m in enumerate(items))
    subject = None
    if doc.get("subject") is not None:
        subject = Descriptor.from_json(doc["subject"], f"{where} subject")
    artifact_type = doc.get("artifactType", "")
    if not isinstance(artifact_type, str):
        raise InvalidManifestError(f"{where}: artifactType must be a string")
    return Manifest(
        digest=digest,
        media_type=media_type,
        raw=raw,
        config=config,
        layers=layers,
        manifests=manifests,
        subject=subject,
        artifact_type=artifact_type,
        annotations=_str_map(doc.get("annotations"), where),
    )


# --------------------------------------------------------------------------------------------- stores


class ContentStore(Protocol):
    """Where manifests and blobs come from (a registry repository or an OCI layout).

    Every method returns content only after re-hashing it against the requested digest.
    """

    @property
    def name(self) -> str:
        """Human name for messages (``127.0.0.1:5000/demo/hello``, ``oci-layout:fixtures/demo/x``)."""
        ...

    def get_manifest(self, digest: str, expected_size: int | None = None) -> Manifest:
        """The manifest with this digest; ManifestNotFoundError if absent."""
        ...

    def get_tagged_manifest(self, tag: str) -> Manifest | None:
        """The manifest a tag points to (digest computed from its bytes), or None if the tag is absent."""
        ...

    def get_blob(self, descriptor: Descriptor, what: str) -> bytes:
        """The blob a descriptor names, checked against its digest and size; BlobNotFoundError if absent."""
        ...

    def list_referrers(self, digest: str) -> list[Descriptor] | None:
        """Descriptors of manifests whose subject is ``digest``; None if the store cannot list them."""
        ...


@dataclass
class Collected:
    """Mutable accumulator for one image's signatures (turned into ImageEvidence by the caller)."""

    signatures: list[SignatureLayer] = field(default_factory=list)
    attestations: list[AttestationLayer] = field(default_factory=list)
    referrers: list[ReferrerBundle] = field(default_factory=list)
    other_referrers: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _blob_or_problem(
    store: ContentStore, desc: Descriptor, what: str, out: Collected, limits: Limits
) -> bytes | None:
    if desc.size > limits.blob_bytes:
        raise ContentTooLargeError(what, desc.size, limits.blob_bytes)
    try:
        return store.get_blob(desc, what)
    except BlobNotFoundError as exc:
        out.problems.append(str(exc))
        return None


def _tagged_or_problem(store: ContentStore, tag: str, out: Collected) -> Manifest | None:
    try:
        manifest = store.get_tagged_manifest(tag)
    except InvalidManifestError as exc:
        out.problems.append(str(exc))
        return None
    if manifest is not None and manifest.is_index:
        out.problems.append(f"{store.name}:{tag}: is an index, expected an image manifest; ignored")
        return None
    return manifest


def _legacy_layers(
    store: ContentStore,
    digest: str,
    suffix: str,
    kind: str,
    out: Collected,
    limits: Limits,
    references: tuple[str, ...] = (),
) -> Iterator[tuple[Manifest, Descriptor, bytes]]:
    """The layers of cosign's ``<alg>-<hex><suffix>`` tag with their (re-hashed) blobs; a missing tag or an
    unreadable layer is a problem in ``out``, not an error. A layer whose blob is cosign's payload for one of
    ``references`` (see :func:`known_payload`) is not downloaded."""
    manifest = _tagged_or_problem(store, digest_tag(digest, suffix), out)
    if manifest is None:
        return
    for i, layer in enumerate(
        _capped(manifest.layers, limits.layers, f"{store.name} {suffix}", out)
    ):
        data = known_payload(layer, digest, references) if references else None
        if data is None:
            what = f"{store.name} {kind} manifest {manifest.digest} layer {i} ({layer.digest})"
            data = _blob_or_problem(store, layer, what, out, limits)
        if data is not None:
            yield manifest, layer, data


def collect_signatures(
    store: ContentStore,
    digest: str,
    out: Collected,
    limits: Limits,
    references: tuple[str, ...] = (),
) -> None:
    """cosign's ``<alg>-<hex>.sig`` tag: one simplesigning layer per signature. ``references`` are the
    docker-reference values cosign would have signed for this image (its repository under each of its
    names); a payload that matches one is known from the layer's digest alone, a round trip saved."""
    for sig, layer, data in _legacy_layers(
        store, digest, ".sig", "signature", out, limits, references
    ):
        out.signatures.append(
            SignatureLayer(
                payload=data,
                media_type=layer.media_type,
                annotations=dict(layer.annotations),
                manifest_digest=sig.digest,
                layer_digest=layer.digest,
            )
        )


def collect_attestations(store: ContentStore, digest: str, out: Collected, limits: Limits) -> None:
    """cosign's ``<alg>-<hex>.att`` tag: one DSSE envelope layer per attestation."""
    for att, layer, data in _legacy_layers(store, digest, ".att", "attestation", out, limits):
        out.attestations.append(
            AttestationLayer(
                envelope=data,
                media_type=layer.media_type,
                annotations=dict(layer.annotations),
                manifest_digest=att.digest,
                layer_digest=layer.digest,
            )
        )


def _capped(
    items: tuple[Descriptor, ...], cap: int, what: str, out: Collected
) -> tuple[Descriptor, ...]:
    if len(items) > cap:
        out.problems.append(f"{what}: {len(items)} entries, only the first {cap} were read")
        return items[:cap]
    return items


def referrer_descriptors(store: ContentStore, digest: str, out: Collected) -> list[Descriptor]:
    """Referrers API when the store supports it, else the ``<alg>-<hex>`` tag-schema index."""
    listed = store.list_referrers(digest)
    if listed is not None:
        return listed
    index = None
    try:
        index = store.get_tagged_manifest(digest_tag(digest))
    except InvalidManifestError as exc:
        out.problems.append(str(exc))
    if index is None:
        return []
    if not index.is_index:
        out.problems.append(
            f"{store.name}:{digest_tag(digest)}: referrers tag is not an index ({index.media_type}); ignored"
        )
        return []
    return list(index.manifests)


def is_bundle_type(media_type: str) -> bool:
    """True for the Sigstore bundle media types (any version)."""
    return media_type.startswith(SIGSTORE_BUNDLE_PREFIX)


def collect_referrers(store: ContentStore, digest: str, out: Collected, limits: Limits) -> None:
    """Sigstore bundles attached to ``digest`` as OCI 1.1 referrers (API or tag-schema fallback)."""
    descriptors: list[Descriptor] = []
    seen: set[str] = set()
    for desc in referrer_descriptors(store, digest, out):
        if desc.digest not in seen:
            seen.add(desc.digest)
            descriptors.append(desc)
    if len(descriptors) > limits.referrers:
        out.problems.append(
            f"{store.name}: {len(descriptors)} referrers of {digest}, only the first {limits.referrers} were read"
        )
        descriptors = descriptors[: limits.referrers]
    for desc in descriptors:
        if desc.media_type and desc.media_type not in IMAGE_MANIFEST_TYPES:
            out.other_referrers.append(f"{desc.digest} {desc.media_type}")
            continue
        if desc.artifact_type and not is_bundle_type(desc.artifact_type):
            out.other_referrers.append(f"{desc.digest} {desc.artifact_type}")
            continue
        try:
            manifest = store.get_manifest(desc.digest, desc.size)
        except (ManifestNotFoundError, InvalidManifestError) as exc:
            out.problems.append(f"referrer {desc.digest}: {exc}")
            continue
        artifact_type = manifest.effective_artifact_type
        if not is_bundle_type(artifact_type):
            out.other_referrers.append(f"{desc.digest} {artifact_type}")
            continue
        if manifest.subject is None or manifest.subject.digest != digest:
            got = manifest.subject.digest if manifest.subject else "no subject"
            out.problems.append(
                f"referrer {desc.digest}: its subject is {got}, not {digest}; ignored"
            )
            continue
        layers = [layer for layer in manifest.layers if is_bundle_type(layer.media_type)]
        if not layers:
            out.problems.append(
                f"referrer {desc.digest}: {artifact_type} artifact without a bundle layer"
            )
        for layer in layers[: limits.layers]:
            what = f"{store.name} referrer {desc.digest} bundle {layer.digest}"
            data = _blob_or_problem(store, layer, what, out, limits)
            if data is not None:
                out.referrers.append(
                    ReferrerBundle(
                        artifact_type=artifact_type,
                        bundle=data,
                        annotations=dict(manifest.annotations),
                        manifest_digest=manifest.digest,
                        layer_digest=layer.digest,
                    )
                )


def _run_parallel(tasks: list[Callable[[], None]]) -> None:
    """Run ``tasks`` concurrently: all but the first on the shared pool, the first in this thread. Every task
    runs under a copy of this context (the deadline of :mod:`verifier.sources.deadline` goes with it).

    A task that no pool thread has started by the time this thread is free again is taken back and run
    here, so progress never depends on the pool having a free thread; a task that did start is waited for,
    within the current deadline (its own I/O is bounded by the same deadline). The first error in task
    order is raised; tasks not started by then are dropped.
    """
    from verifier.sources.deadline import DeadlineExceeded, current

    pool = _collect_pool()
    futures = [pool.submit(contextvars.copy_context().run, task) for task in tasks[1:]]
    try:
        tasks[0]()
        for task, future in zip(tasks[1:], futures, strict=True):
            if future.cancel():
                task()  # never started: no thread was free, so it runs here
                continue
            deadline = current()
            try:
                future.result(
                    timeout=None if deadline is None else deadline.wait("registry lookups")
                )
            except concurrent.futures.TimeoutError:
                assert deadline is not None  # noqa: S101 - no timeout without a deadline
                raise DeadlineExceeded("registry lookups", deadline) from None
    finally:
        for future in futures:
            future.cancel()


_POOL_LOCK = threading.Lock()
_POOL: list[ThreadPoolExecutor] = []
COLLECT_THREADS = 32


def _collect_pool() -> ThreadPoolExecutor:
    """One process-wide pool for the parallel lookups (threads are started once, not per image).

    Its tasks never wait on each other, and a caller runs itself every task of its own that no thread has
    started yet (see :func:`collect_all`): a pool kept busy by a slow registry delays nobody else's
    lookups, it only takes away their parallelism.
    """
    with _POOL_LOCK:
        if not _POOL:
            _POOL.append(
                ThreadPoolExecutor(max_workers=COLLECT_THREADS, thread_name_prefix="oci-collect")
            )
        return _POOL[0]


def collect_all(
    store: ContentStore,
    digest: str,
    limits: Limits,
    *,
    parallel: bool = False,
    attestations: bool = True,
    references: tuple[str, ...] = (),
) -> Collected:
    """Legacy tags and referrers of ``digest`` in ``store``.

    With ``parallel`` the three lookups (``.sig``, ``.att``, referrers) run on a shared thread pool (a
    registry round trip each; the store must be thread-safe, as RegistryStore is). Results are merged in
    the same order as the sequential run, and the first error in that order is raised. ``attestations=False``
    skips the ``.att`` tag (for callers whose checks read no attestation layers: one round trip less).
    ``references`` go to :func:`collect_signatures`.
    """
    steps: list[Callable[[ContentStore, str, Collected, Limits], None]] = [
        functools.partial(collect_signatures, references=references)
    ]
    if attestations:
        steps.append(collect_attestations)
    steps.append(collect_referrers)
    parts = [Collected() for _ in steps]
    if parallel:
        _run_parallel(
            [
                functools.partial(step, store, digest, part, limits)
                for step, part in zip(steps, parts, strict=True)
            ]
        )
    else:
        for step, part in zip(steps, parts, strict=True):
            step(store, digest, part, limits)
    out = Collected()
    for part in parts:
        out.signatures += part.signatures
        out.attestations += part.attestations
        out.referrers += part.referrers
        out.other_referrers += part.other_referrers
        out.problems += part.problems
    return out
