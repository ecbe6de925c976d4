"""The images a release ships, read from the files that name them (``verifier gate --images-from FILE``).

Three kinds of file, told apart by content:

- Kubernetes manifests (one or many YAML documents, e.g. ``helm template`` or ``kustomize build`` output):
  every container, init container and ephemeral container image of a Pod or pod template (Deployment,
  StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, ReplicationController), and Pod image volumes
  (``volumes[].image.reference``);
- a kustomization (``kind: Kustomization`` or a file named ``kustomization.yaml``): its ``images:`` entries
  (``newName`` / ``name``, ``newTag``, ``digest``);
- Helm values: every mapping with a ``repository`` and a ``tag`` or ``digest`` (``registry`` prefixed when
  present), as charts conventionally write ``image:``.

Each image carries where its digest goes (:attr:`FoundImage.pin_path`), so the gate can pin every verified
digest back where it came from. ``oci-layout:`` references are relative to the file's directory. A file
that names no image is an error (exit 2): a release whose images were not found is not a release to admit.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Literal

from verifier.errors import InputError
from verifier.sources.files import MIB, read_text

MAX_BYTES = 16 * MIB
MAX_DEPTH = 64  # Helm values are searched recursively; deeper than this is not a values file
# Objects whose pod spec sits at this path (a CronJob's one level deeper).
_POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
_TEMPLATE_KINDS = (
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "ReplicationController",
    "PodTemplate",
)
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


@dataclasses.dataclass(frozen=True)
class FoundImage:
    """One image named by a release file, and where its digest is written when the gate pins it."""

    ref: str
    file: str
    kind: Literal["manifest", "kustomization", "helm"]
    document: int  # index of the YAML document in the file
    path: tuple[str | int, ...]  # the key path of the value that names the image

    @property
    def pin_path(self) -> tuple[str | int, ...]:
        """Where the verified digest is written: a ``digest`` key next to the name (kustomization, Helm)
        or the image string itself (manifests)."""
        return self.path if self.kind == "manifest" else (*self.path, "digest")

    def pin_value(self, digest: str) -> str:
        """The value written at :attr:`pin_path` for ``digest``."""
        if self.kind != "manifest":
            return digest
        name = self.ref.split("@", 1)[0]
        if name.startswith("oci-layout:"):
            raise InputError(self.file, "an oci-layout: image in a manifest cannot be pinned")
        return f"{name}@{digest}"


def _resolve(ref: str, base: Path) -> str:
    prefix = "oci-layout:"
    if ref.startswith(prefix) and not os.path.isabs(ref[len(prefix) :]):
        return prefix + os.path.normpath(base / ref[len(prefix) :])
    return ref


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _pod_spec_path(doc: dict[str, Any]) -> tuple[str, ...] | None:
    kind = doc.get("kind")
    if not isinstance(kind, str):
        return None
    if kind in _POD_SPEC_PATHS:
        return _POD_SPEC_PATHS[kind]
    if kind in _TEMPLATE_KINDS:
        return ("template",) if kind == "PodTemplate" else ("spec", "template", "spec")
    return None


def _get(doc: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _manifest_images(doc: dict[str, Any], file: str, index: int, base: Path) -> list[FoundImage]:
    spec_path = _pod_spec_path(doc)
    spec = _get(doc, spec_path) if spec_path else None
    if not isinstance(spec, dict):
        return []
    assert spec_path is not None  # noqa: S101 - spec is a dict only when the path was found
    found = []
    for field in _CONTAINER_LISTS:
        containers = spec.get(field) or []
        for i, container in enumerate(containers if isinstance(containers, list) else []):
            image = _text(container.get("image")) if isinstance(container, dict) else None
            if image is None:
                raise InputError(file, f"document {index}: {field}[{i}] has no image")
            path: tuple[str | int, ...] = (*spec_path, field, i, "image")
            found.append(FoundImage(_resolve(image, base), file, "manifest", index, path))
    volumes = spec.get("volumes") or []
    for i, volume in enumerate(volumes if isinstance(volumes, list) else []):
        source = volume.get("image") if isinstance(volume, dict) else None
        if isinstance(source, dict):
            image = _text(source.get("reference"))
            if image is None:
                raise InputError(file, f"document {index}: volumes[{i}].image has no reference")
            path = (*spec_path, "volumes", i, "image", "reference")
            found.append(FoundImage(_resolve(image, base), file, "manifest", index, path))
    return found


def _kustomization_images(doc: dict[str, Any], file: str, base: Path) -> list[FoundImage]:
    entries = doc.get("images") or []
    if not isinstance(entries, list):
        raise InputError(file, "images: is not a list")
    found = []
    for i, entry in enumerate(entries):
        name = (
            _text(entry.get("newName")) or _text(entry.get("name"))
            if isinstance(entry, dict)
            else None
        )
        if name is None:
            raise InputError(file, f"images[{i}] has neither newName nor name")
        assert isinstance(entry, dict)  # noqa: S101 - checked by _text above
        digest, tag = _text(entry.get("digest")), _text(entry.get("newTag"))
        ref = f"{name}@{digest}" if digest else f"{name}:{tag}" if tag else name
        found.append(FoundImage(_resolve(ref, base), file, "kustomization", 0, ("images", i)))
    return found


def _helm_images(
    node: Any, file: str, base: Path, path: tuple[str | int, ...], depth: int
) -> list[FoundImage]:
    if depth > MAX_DEPTH:
        raise InputError(file, f"nested more than {MAX_DEPTH} levels deep")
    found: list[FoundImage] = []
    if isinstance(node, dict):
        repository = _text(node.get("repository"))
        tag, digest = _text(node.get("tag")), _text(node.get("digest"))
        if repository and ("tag" in node or "digest" in node):
            registry = _text(node.get("registry"))
            name = f"{registry}/{repository}" if registry else repository
            ref = f"{name}@{digest}" if digest else f"{name}:{tag}" if tag else name
            found.append(FoundImage(_resolve(ref, base), file, "helm", 0, path))
        for key, value in node.items():
            if isinstance(key, str):
                found += _helm_images(value, file, base, (*path, key), depth + 1)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _helm_images(value, file, base, (*path, i), depth + 1)
    return found


def read_images(path: str) -> list[FoundImage]:
    """Every image ``path`` names, in file order; InputError when it is unreadable or names none."""
    import yaml

    text = read_text(path, MAX_BYTES)
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise InputError(path, f"not valid YAML{where}") from None
    except RecursionError:
        raise InputError(path, "YAML nested too deeply") from None
    base = Path(path).parent
    found: list[FoundImage] = []
    manifests = [d for d in docs if isinstance(d, dict) and "kind" in d and "apiVersion" in d]
    if Path(path).name in ("kustomization.yaml", "kustomization.yml") or any(
        isinstance(d, dict) and d.get("kind") == "Kustomization" for d in docs
    ):
        if len(docs) != 1 or not isinstance(docs[0], dict):
            raise InputError(path, "a kustomization is one YAML mapping")
        found = _kustomization_images(docs[0], path, base)
    elif manifests:
        for index, doc in enumerate(docs):
            if isinstance(doc, dict):
                found += _manifest_images(doc, path, index, base)
    elif len(docs) == 1:
        found = _helm_images(docs[0], path, base, (), 0)
    if not found:
        raise InputError(
            path,
            "names no image (expected Kubernetes manifests with pod specs, a kustomization with "
            "images:, or Helm values with image.repository and tag/digest)",
        )
    return found
