"""OCI image-layout directory source (``oci-layout:PATH``): the offline default, no registry needed.

Reads the layout written by ``cosign save``, ``skopeo copy … oci:``, ``oras`` or ``fixtures/demo/make_demo.py``:
``oci-layout`` (version marker), ``index.json`` and content-addressed ``blobs/<alg>/<hex>``. Every blob read is
re-hashed against its digest and size. Blobs that are never read (the image's config and filesystem layers)
may be absent: verifying signatures needs only the manifests and the signature blobs.

Signatures are found the same ways as in a registry:
- tags (``org.opencontainers.image.ref.name`` in index.json): ``sha256-<hex>.sig``/``.att`` and the
  ``sha256-<hex>`` referrers tag-schema index;
- ``cosign save`` annotations (``kind: dev.cosignproject.cosign/sigs`` and ``…/atts``, bound to the
  ``…/image`` entry);
- referrers: every manifest listed in index.json whose ``subject`` is the image.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from verifier.errors import InputError
from verifier.sources.oci_common import (
    DEFAULT_LIMITS,
    IMAGE_MANIFEST_TYPES,
    MANIFEST_TYPES,
    BlobNotFoundError,
    ContentTooLargeError,
    Descriptor,
    InvalidManifestError,
    Limits,
    Manifest,
    ManifestNotFoundError,
    OciSourceError,
    SizeMismatchError,
    parse_manifest,
    verify_content,
)

REF_NAME = "org.opencontainers.image.ref.name"
# cosign pkg/oci/layout/index.go
KIND = "kind"
KIND_IMAGE = "dev.cosignproject.cosign/image"
KIND_IMAGE_INDEX = "dev.cosignproject.cosign/imageIndex"
KIND_SIGS = "dev.cosignproject.cosign/sigs"
KIND_ATTS = "dev.cosignproject.cosign/atts"
LAYOUT_VERSION = "1.0.0"
_ATTACHMENT_TAG_RE = re.compile(
    r"\A(sha256-[a-f0-9]{64}|sha512-[a-f0-9]{128})(\.sig|\.att|\.sbom)?\Z"
)


class OciLayout:
    """An OCI image-layout directory as a ContentStore."""

    def __init__(self, path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> None:
        self.path = Path(path)
        self.limits = limits
        self._manifests: dict[str, Manifest] = {}
        root = os.fspath(self.path)
        if not self.path.is_dir():
            raise InputError(root, "not a directory (expected an OCI image layout)")
        marker = self.path / "oci-layout"
        if not marker.is_file():
            raise InputError(root, "not an OCI image layout: no 'oci-layout' file")
        doc = self._load_small_json(marker)
        if not isinstance(doc, dict) or not isinstance(doc.get("imageLayoutVersion"), str):
            raise InputError(os.fspath(marker), "no imageLayoutVersion")
        if doc["imageLayoutVersion"].split(".")[0] != LAYOUT_VERSION.split(".")[0]:
            raise InputError(
                os.fspath(marker), f"unsupported imageLayoutVersion {doc['imageLayoutVersion']!r}"
            )
        index_path = self.path / "index.json"
        if not index_path.is_file():
            raise InputError(root, "not an OCI image layout: no index.json")
        raw = self._read_file(index_path, self.limits.manifest_bytes, "index.json")
        try:
            index = parse_manifest(
                raw, "", "application/vnd.oci.image.index.v1+json", os.fspath(index_path)
            )
        except InvalidManifestError as exc:
            raise InputError(os.fspath(index_path), str(exc).split(": ", 1)[-1]) from None
        if not index.is_index:
            raise InputError(os.fspath(index_path), f"not an image index ({index.media_type})")
        if len(index.manifests) > self.limits.index_entries:
            raise ContentTooLargeError(
                os.fspath(index_path), len(index.manifests), self.limits.index_entries
            )
        self.index: tuple[Descriptor, ...] = index.manifests

    @property
    def name(self) -> str:
        """``oci-layout:PATH``."""
        return f"oci-layout:{os.fspath(self.path)}"

    # ----------------------------------------------------------------------------------------- files

    def _load_small_json(self, path: Path) -> object:
        raw = self._read_file(path, 64 * 1024, path.name)
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            raise InputError(os.fspath(path), "not valid JSON") from None

    def _read_file(self, path: Path, cap: int, what: str) -> bytes:
        try:
            size = path.stat().st_size
            if size > cap:
                raise ContentTooLargeError(f"{self.name} {what}", size, cap)
            with path.open("rb") as fh:
                data = fh.read(cap + 1)
        except OSError as exc:
            raise InputError(os.fspath(path), f"cannot read: {exc.strerror}") from exc
        if len(data) > cap:
            raise ContentTooLargeError(f"{self.name} {what}", None, cap)
        return data

    def blob_path(self, digest: str) -> Path:
        """``blobs/<alg>/<hex>`` (the digest is validated by the caller's descriptor parsing)."""
        algorithm, hex_ = digest.split(":", 1)
        return self.path / "blobs" / algorithm / hex_

    # ----------------------------------------------------------------------------------------- store API

    def get_manifest(self, digest: str, expected_size: int | None = None) -> Manifest:
        """The manifest blob with this digest, re-hashed."""
        cached = self._manifests.get(digest)
        if cached is not None:
            if expected_size is not None and expected_size != len(cached.raw):
                verify_content(cached.raw, digest, f"{self.name} manifest {digest}", expected_size)
            return cached
        what = f"{self.name} manifest {digest}"
        path = self.blob_path(digest)
        if not path.is_file():
            raise ManifestNotFoundError(f"{what}: not found (no file {os.fspath(path)})")
        raw = self._read_file(path, self.limits.manifest_bytes, f"manifest {digest}")
        verify_content(raw, digest, what, expected_size)
        media_type = next((d.media_type for d in self.index if d.digest == digest), "")
        manifest = parse_manifest(raw, digest, media_type, what)
        self._manifests[digest] = manifest
        return manifest

    def _entries_with(self, key: str, value: str) -> list[Descriptor]:
        return [d for d in self.index if d.annotations.get(key) == value]

    def get_tagged_manifest(self, tag: str) -> Manifest | None:
        """An index.json entry with this ref.name; for ``<alg>-<hex>.sig``/``.att`` also the cosign-save
        ``kind`` entries when ``<alg>:<hex>`` is the layout's cosign image."""
        entries = self._entries_with(REF_NAME, tag)
        if len(entries) > 1:
            raise InvalidManifestError(f"{self.name}: tag {tag!r} names {len(entries)} manifests")
        if entries:
            return self.get_manifest(entries[0].digest, entries[0].size)
        m = _ATTACHMENT_TAG_RE.match(tag)
        if m and m.group(2) in (".sig", ".att"):
            digest = m.group(1).replace("-", ":", 1)
            images = self._entries_with(KIND, KIND_IMAGE) + self._entries_with(
                KIND, KIND_IMAGE_INDEX
            )
            if any(d.digest == digest for d in images):
                kind = KIND_SIGS if m.group(2) == ".sig" else KIND_ATTS
                found = self._entries_with(KIND, kind)
                if found:
                    return self.get_manifest(found[0].digest, found[0].size)
        return None

    def get_blob(self, descriptor: Descriptor, what: str) -> bytes:
        """A blob, checked against the descriptor's digest and size; BlobNotFoundError if absent."""
        path = self.blob_path(descriptor.digest)
        if not path.is_file():
            raise BlobNotFoundError(f"{what}: blob absent from the layout ({os.fspath(path)})")
        if descriptor.size > self.limits.blob_bytes:
            raise ContentTooLargeError(what, descriptor.size, self.limits.blob_bytes)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise InputError(os.fspath(path), f"cannot read: {exc.strerror}") from exc
        if size != descriptor.size:
            raise SizeMismatchError(what, descriptor.size, size)
        data = self._read_file(path, descriptor.size, f"blob {descriptor.digest}")
        verify_content(data, descriptor.digest, what, descriptor.size)
        return data

    def list_referrers(self, digest: str) -> list[Descriptor] | None:
        """Manifests listed in index.json whose subject is ``digest``, plus the tag-schema index's entries."""
        found: list[Descriptor] = []
        for desc in self.index:
            if desc.media_type and desc.media_type not in IMAGE_MANIFEST_TYPES:
                continue
            try:
                manifest = self.get_manifest(desc.digest, desc.size)
            except ManifestNotFoundError:
                continue
            if manifest.subject is not None and manifest.subject.digest == digest:
                found.append(
                    Descriptor(
                        media_type=manifest.media_type,
                        digest=manifest.digest,
                        size=len(manifest.raw),
                        annotations=dict(manifest.annotations),
                        artifact_type=manifest.effective_artifact_type,
                    )
                )
        tag_index = self.get_tagged_manifest(digest.replace(":", "-", 1))
        if tag_index is not None and tag_index.is_index:
            found.extend(tag_index.manifests)
        return found

    # ----------------------------------------------------------------------------------------- images

    def select_image(self, digest: str = "", tag: str = "") -> Manifest:
        """The image to verify: by digest, by tag, or the only image in the layout."""
        if digest:
            return self.get_manifest(digest)
        if tag:
            manifest = self.get_tagged_manifest(tag)
            if manifest is None:
                raise ManifestNotFoundError(
                    f"{self.name}: no manifest tagged {tag!r} in index.json"
                )
            return manifest
        kinds = self._entries_with(KIND, KIND_IMAGE) + self._entries_with(KIND, KIND_IMAGE_INDEX)
        if len(kinds) == 1:
            return self.get_manifest(kinds[0].digest, kinds[0].size)
        candidates: list[Descriptor] = []
        for desc in self.index:
            ref_name = desc.annotations.get(REF_NAME, "")
            if _ATTACHMENT_TAG_RE.match(ref_name) or desc.annotations.get(KIND) in (
                KIND_SIGS,
                KIND_ATTS,
            ):
                continue
            if desc.media_type and desc.media_type not in MANIFEST_TYPES:
                continue
            try:
                manifest = self.get_manifest(desc.digest, desc.size)
            except ManifestNotFoundError:
                continue
            if manifest.subject is not None:
                continue  # a referrer (signature, SBOM), not an image
            candidates.append(desc)
        if not candidates:
            raise OciSourceError(f"{self.name}: index.json lists no image")
        if len({d.digest for d in candidates}) > 1:
            listed = ", ".join(
                f"{d.digest} ({d.annotations.get(REF_NAME, 'untagged')})" for d in candidates[:5]
            )
            raise InputError(
                os.fspath(self.path / "index.json"),
                f"{len(candidates)} images in the layout; choose one with oci-layout:PATH@sha256:… ({listed})",
            )
        return self.get_manifest(candidates[0].digest, candidates[0].size)
