"""Kubernetes AdmissionReview in and out: pure functions, no I/O.

``parse_review(doc)`` reads an ``admission.k8s.io/v1`` or ``v1beta1`` AdmissionReview (already decoded from
JSON) into an :class:`AdmissionRequest`; ``images_to_check(req)`` lists the images the kubelet will pull, which
the webhook must verify (Pods and every pod-template kind: init, regular and ephemeral containers and image
volumes; the ``EphemeralContainers`` kind that ``kubectl debug`` sent before Kubernetes 1.23; on UPDATE only
images that are new compared with ``oldObject``); ``build_response(...)`` writes the AdmissionReview answer in
the request's apiVersion with the same uid. ``parse_image`` reads a reference in its canonical spelling
(:mod:`verifier.models.reference`), so that every spelling of one image falls under the same rule.

Example::

    req = parse_review(json.loads(body))
    images = images_to_check(req)
    review = build_response(req.api_version, req.uid, allowed=False, message="...")

Nothing here trusts annotations or labels: only ``spec`` fields that the kubelet actually runs are read.
Malformed reviews raise :class:`AdmissionError` (an ``InputError``); the adapter turns that into HTTP 400 (no
uid to answer to) or a deny (uid known).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from verifier.errors import InputError
from verifier.models.reference import ImageReference, ImageReferenceError, parse_reference
from verifier.sources.oci_registry import RegistryRef

API_VERSIONS = ("admission.k8s.io/v1", "admission.k8s.io/v1beta1")
OPERATIONS = ("CREATE", "UPDATE", "DELETE", "CONNECT")
CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")
# The kind ``kubectl debug`` sent on ``pods/ephemeralcontainers`` before Kubernetes 1.23 (core/v1
# ``EphemeralContainers``): the object holds ``ephemeralContainers`` at its top level, not a PodSpec.
EPHEMERAL_CONTAINERS_KIND = "EphemeralContainers"
VOLUMES_FIELD = "volumes"

# kind -> path (keys under the object) to the PodSpec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    EPHEMERAL_CONTAINERS_KIND: (),
    "PodTemplate": ("template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
# Where a message places the PodSpec, for users reading a denial.
_SPEC_PREFIX = {kind: ".".join(path) for kind, path in POD_SPEC_PATHS.items()}

WHAT = "AdmissionReview"


class AdmissionError(InputError):
    """The AdmissionReview is malformed. ``uid`` is set when the request could still be answered."""

    def __init__(self, problem: str, uid: str = "", api_version: str = "") -> None:
        super().__init__(WHAT, problem)
        self.uid = uid
        self.api_version = api_version


@dataclass(frozen=True)
class AdmissionRequest:
    """The fields of ``request`` the webhook uses. ``kind`` is ``request.kind.kind`` (never the object's)."""

    api_version: str
    uid: str
    kind: str
    group: str
    resource: str
    sub_resource: str
    operation: str
    namespace: str
    name: str
    dry_run: bool
    object: Mapping[str, Any] | None
    old_object: Mapping[str, Any] | None
    username: str = ""

    @property
    def is_workload(self) -> bool:
        """True for Pods and the pod-template kinds whose images the webhook checks."""
        return self.kind in POD_SPEC_PATHS


@dataclass(frozen=True)
class ContainerImage:
    """One image the kubelet pulls for the object (a container's or an image volume's), as written, and
    where it was found."""

    path: str  # e.g. spec.template.spec.initContainers[0], spec.volumes[1].image
    container: str  # the container's name, or the volume's
    field: str  # containers | initContainers | ephemeralContainers | volumes
    image: str


@dataclass(frozen=True)
class ImageRef(RegistryRef):
    """A container's image reference in its canonical spelling (:mod:`verifier.models.reference`), plus the
    text the pod spec holds; ``canonical`` is ``registry/repository``."""

    original: str = ""

    @property
    def canonical(self) -> str:
        """``registry/repository`` (``nginx`` -> ``docker.io/library/nginx``, ``GHCR.IO:443/a/b`` ->
        ``ghcr.io/a/b``)."""
        return self.repo_name

    @property
    def pinned(self) -> str:
        """``registry/repository@digest`` ("" when the reference has no digest)."""
        return f"{self.canonical}@{self.digest}" if self.digest else ""


@dataclass(frozen=True)
class Outcome:
    """What the webhook answers: allowed or not, a short message, AdmissionResponse warnings."""

    allowed: bool
    message: str = ""
    warnings: tuple[str, ...] = ()
    code: int = 0
    audit: dict[str, str] = field(default_factory=dict)


def parse_image(image: str) -> ImageRef:
    """Parse a container image reference as the kubelet would, in its canonical spelling; ``InputError``
    when it is not one."""
    try:
        ref: ImageReference = parse_reference(image)
    except ImageReferenceError as exc:
        raise InputError(image, f"not a valid image reference: {exc.problem}") from exc
    return ImageRef(ref.host, ref.path, ref.tag, ref.digest, original=image)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


_SHOWN = 64


def _shown(value: Any) -> str:
    """A value from the review for a message: short and never the whole value, which may be a huge string
    or a deeply nested array (echoing it made answers and log lines of any size)."""
    if isinstance(value, str):
        return repr(value[:_SHOWN]) + ("…" if len(value) > _SHOWN else "")
    if value is None or isinstance(value, bool | int | float):
        text = repr(value)  # json.loads keeps integers under 4,300 digits
        return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"
    return "an object" if isinstance(value, dict) else "an array"


def parse_review(doc: Any) -> AdmissionRequest:
    """Validate the envelope and return the request; ``AdmissionError`` names what is wrong."""
    if not isinstance(doc, dict):
        raise AdmissionError(f"expected a JSON object, got {type(doc).__name__}")
    api_version = doc.get("apiVersion")
    if doc.get("kind") != "AdmissionReview":
        raise AdmissionError(f"kind is {_shown(doc.get('kind'))}, expected 'AdmissionReview'")
    if api_version not in API_VERSIONS:
        raise AdmissionError(
            f"apiVersion {_shown(api_version)} is not supported (expected one of {', '.join(API_VERSIONS)})"
        )
    request = doc.get("request")
    if not isinstance(request, dict):
        raise AdmissionError("request is missing or not an object", api_version=api_version)
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise AdmissionError("request.uid is missing", api_version=api_version)

    def fail(problem: str) -> AdmissionError:
        return AdmissionError(problem, uid=uid, api_version=api_version)

    operation = request.get("operation")
    if operation not in OPERATIONS:
        raise fail(f"request.operation {_shown(operation)} is not one of {', '.join(OPERATIONS)}")
    kind = request.get("kind")
    if not isinstance(kind, dict) or not isinstance(kind.get("kind"), str) or not kind["kind"]:
        raise fail("request.kind.kind is missing")
    resource = request.get("resource")
    resource_name = _str(resource.get("resource")) if isinstance(resource, dict) else ""
    obj = request.get("object")
    old = request.get("oldObject")
    if obj is not None and not isinstance(obj, dict):
        raise fail("request.object is not an object")
    if operation in ("CREATE", "CONNECT"):
        old = None  # never meaningful here; some captured fixtures carry junk ("None", "")
    elif old is not None and not isinstance(old, dict):
        raise fail("request.oldObject is not an object")
    if operation in ("CREATE", "UPDATE") and not obj:
        raise fail(f"request.object is missing on {operation}")
    if operation == "UPDATE" and old is None:
        raise fail("request.oldObject is missing on UPDATE")
    dry_run = request.get("dryRun", False)
    if dry_run is None:
        dry_run = False
    if not isinstance(dry_run, bool):
        raise fail("request.dryRun is not a boolean")
    user = request.get("userInfo")
    return AdmissionRequest(
        api_version=api_version,
        uid=uid,
        kind=kind["kind"],
        group=_str(kind.get("group")),
        resource=resource_name,
        sub_resource=_str(request.get("subResource")),
        operation=operation,
        namespace=_str(request.get("namespace")),
        name=_str(request.get("name")),
        dry_run=dry_run,
        object=obj,
        old_object=old,
        username=_str(user.get("username")) if isinstance(user, dict) else "",
    )


def pod_spec(kind: str, obj: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """The PodSpec of a workload object and its path; ``InputError`` when it is missing or malformed."""
    path = POD_SPEC_PATHS[kind]
    node: Any = obj
    for i, key in enumerate(path):
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            where = ".".join(path[: i + 1])
            raise InputError(f"{kind} object", f"{where} is missing or not an object")
    return _SPEC_PREFIX[kind], node


def _list_field(kind: str, spec: Mapping[str, Any], prefix: str, name: str) -> list[Any]:
    items = spec.get(name)
    if items is None:
        return []
    if not isinstance(items, list):
        raise InputError(f"{kind} object", f"{_join(prefix, name)} is not a list")
    return items


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _volume_images(kind: str, spec: Mapping[str, Any], prefix: str) -> list[ContainerImage]:
    """Image volumes (``volumes[].image.reference``, Kubernetes 1.31+): the kubelet pulls these too."""
    out: list[ContainerImage] = []
    for i, volume in enumerate(_list_field(kind, spec, prefix, VOLUMES_FIELD)):
        where = f"{_join(prefix, VOLUMES_FIELD)}[{i}]"
        if not isinstance(volume, dict):
            raise InputError(f"{kind} object", f"{where} is not an object")
        source = volume.get("image")
        if source is None:
            continue
        if not isinstance(source, dict):
            raise InputError(f"{kind} object", f"{where}.image is not an object")
        reference = source.get("reference")
        if not isinstance(reference, str) or not reference.strip():
            raise InputError(f"{kind} object", f"{where}.image has no reference")
        out.append(ContainerImage(f"{where}.image", _str(volume.get("name")), "volumes", reference))
    return out


def container_images(kind: str, obj: Mapping[str, Any]) -> list[ContainerImage]:
    """Every image the kubelet pulls for a workload object, in order: init, regular and ephemeral
    containers, then image volumes."""
    prefix, spec = pod_spec(kind, obj)
    fields = ("ephemeralContainers",) if kind == EPHEMERAL_CONTAINERS_KIND else CONTAINER_FIELDS
    out: list[ContainerImage] = []
    for field_name in fields:
        for i, container in enumerate(_list_field(kind, spec, prefix, field_name)):
            where = f"{_join(prefix, field_name)}[{i}]"
            if not isinstance(container, dict):
                raise InputError(f"{kind} object", f"{where} is not an object")
            image = container.get("image")
            if not isinstance(image, str) or not image.strip():
                raise InputError(f"{kind} object", f"{where} has no image")
            out.append(ContainerImage(where, _str(container.get("name")), field_name, image))
    if not out:
        raise InputError(f"{kind} object", f"{prefix or 'the object'} has no containers")
    if kind != EPHEMERAL_CONTAINERS_KIND:
        out.extend(_volume_images(kind, spec, prefix))
    return out


def images_to_check(req: AdmissionRequest) -> list[ContainerImage]:
    """The images the webhook must verify for this request.

    CREATE: every image. UPDATE: only images not already present in ``oldObject`` (a scale or label change
    re-checks nothing; ``kubectl debug`` on ``pods/ephemeralcontainers`` checks the new debug image). DELETE
    and CONNECT: none. Kinds that are not workloads: none.
    """
    if not req.is_workload or req.operation not in ("CREATE", "UPDATE") or req.object is None:
        return []
    images = container_images(req.kind, req.object)
    if req.operation == "UPDATE" and req.old_object:
        try:
            before = {c.image for c in container_images(req.kind, req.old_object)}
        except InputError:
            before = set()  # a malformed old object vouches for nothing
        images = [c for c in images if c.image not in before]
    return images


def build_response(
    api_version: str,
    uid: str,
    outcome: Outcome,
) -> dict[str, Any]:
    """The AdmissionReview answer in the request's apiVersion with the request's uid."""
    response: dict[str, Any] = {"uid": uid, "allowed": outcome.allowed}
    if not outcome.allowed:
        response["status"] = {
            "code": outcome.code or 403,
            "message": outcome.message or "denied",
            "reason": "Forbidden" if (outcome.code or 403) == 403 else "BadRequest",
        }
    elif outcome.message:
        response["status"] = {"code": 200, "message": outcome.message}
    if outcome.warnings:
        response["warnings"] = list(outcome.warnings)
    if outcome.audit:
        # The apiserver prefixes each key with the webhook name: keys carry no prefix of their own.
        response["auditAnnotations"] = dict(outcome.audit)
    return {"apiVersion": api_version, "kind": "AdmissionReview", "response": response}


__all__ = [
    "API_VERSIONS",
    "EPHEMERAL_CONTAINERS_KIND",
    "POD_SPEC_PATHS",
    "AdmissionError",
    "AdmissionRequest",
    "ContainerImage",
    "ImageRef",
    "Outcome",
    "build_response",
    "container_images",
    "images_to_check",
    "parse_image",
    "parse_review",
    "pod_spec",
]
