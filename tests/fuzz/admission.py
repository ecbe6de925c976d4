"""The webhook's ``POST /validate`` in-process, and an independent reading of what a review asks for.

:class:`InProcessWebhook` drives the real ASGI app of :func:`verifier.adapters.webhook.create_app` (the real
decider, cache, bulkhead and Rego policy) on one event loop, without a server: a review costs well under a
millisecond, so the fuzzers can send thousands. Image verification is a stand-in (:class:`AllowList`): the
fuzzed reviews name images on registries that cannot be reached here, and the property under test is what
the webhook does with the review, not the signature check (fuzzed separately, through the registry client).

:func:`expected` is the oracle: written from docs/webhook.md and the Kubernetes API (not from
``verifier.admission.review``), it says whether a body is a review at all, and for a review which images
the kubelet would pull, or that the object cannot be read; the fuzz tests compare the webhook's answer with
it.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verifier.adapters.webhook import Metrics, create_app
from verifier.admission.decider import AdmissionDecider
from verifier.models import CheckResult, Finding, Severity
from verifier.models.config import Mode, WebhookConfig, WebhookRule
from verifier.models.reference import ImageReferenceError, parse_reference

DIGEST_A = "sha256:" + "a1" * 32
DIGEST_B = "sha256:" + "b2" * 32
# The only images the stand-in verifier passes (canonical ``registry/repository@digest``).
ALLOWED = frozenset({f"ghcr.io/acme/app@{DIGEST_A}", f"docker.io/library/nginx@{DIGEST_B}"})
IMAGES = (
    f"ghcr.io/acme/app@{DIGEST_A}",
    f"GHCR.IO:443/acme/app@{DIGEST_A}",
    f"ghcr.io/acme/app:v1@{DIGEST_A}",
    f"nginx@{DIGEST_B}",
    f"index.docker.io/library/nginx@{DIGEST_B}",
    f"registry-1.docker.io/nginx@{DIGEST_B}",
    f"ghcr.io/acme/evil@{DIGEST_A}",
    f"ghcr.io/acme/app@{DIGEST_B}",
    "ghcr.io/acme/app:v1",
    "nginx",
    f"ghcr.io/acme/app@{DIGEST_A} ",
    f" ghcr.io/acme/app@{DIGEST_A}",
    f"ghcr.io/acme/app@{DIGEST_A.upper()}",
    f"ghcr.io/acme/app@@{DIGEST_A}",
    "ghcr.io/acme/app@sha256:",
    "",
    " ",
    "\ud800",
    f"ghcr.io/acme/app\n@{DIGEST_A}",
)
# Namespaces: enforced by the defaults, exempt, or under a warn rule (allowed whatever the verdict).
EXEMPT = ("kube-system",)
WARN_NAMESPACES = ("preview-*",)
NAMESPACES = ("default", "prod", "kube-system", "preview-1", "", "KUBE-SYSTEM", "kube-system\n")
CONFIG = WebhookConfig(
    mode=Mode.ENFORCE,
    exempt_namespaces=EXEMPT,
    rules=(WebhookRule(namespaces=WARN_NAMESPACES, mode=Mode.WARN),),
    default_timeout_seconds=10.0,
    verify_timeout_seconds=5.0,
    max_concurrent_lookups=4,
)

# The PodSpec of each kind the webhook checks (Kubernetes API reference; ``EphemeralContainers`` is the
# core/v1 kind ``kubectl debug`` sent before 1.23, whose object holds ``ephemeralContainers`` itself).
SPEC_PATH: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "EphemeralContainers": (),
}


class AllowList:
    """Stand-in for the registry-backed signature check (see the module docstring): passes ALLOWED only."""

    def __call__(self, ref: str) -> CheckResult:
        if ref in ALLOWED:
            return CheckResult(
                check="signature", subject=ref, verdict="pass", facts={"count": 1, "failed": 0}
            )
        finding = Finding(rule="no-signature", severity=Severity.HIGH, message="no signature found")
        return CheckResult(
            check="signature",
            subject=ref,
            verdict="fail",
            findings=(finding,),
            facts={"count": 0, "failed": 0},
        )


@dataclass(frozen=True)
class Reply:
    """What the app answered: HTTP status and body."""

    status: int
    body: bytes


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class InProcessWebhook:
    """The webhook app and one event loop to call it on; log records of the ``verifier`` loggers kept, and
    a decision log (``decision_log``) in a directory of its own."""

    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    handler: _Records = field(default_factory=_Records)

    def __post_init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="fuzz-webhook-")
        self.decision_log = Path(self._directory.name) / "decisions.jsonl"
        self.decider = AdmissionDecider(CONFIG, AllowList(), decision_log=self.decision_log)
        self.metrics = Metrics()
        self.app = create_app(self.decider, metrics_=self.metrics, max_body=2 * 1024 * 1024)

    @property
    def records(self) -> list[logging.LogRecord]:
        """The log records since :meth:`capture` started."""
        return self.handler.records

    def capture(self) -> Iterator[None]:
        """Keep the ``verifier`` log records (DEBUG and up) while the generator is suspended."""
        logger = logging.getLogger("verifier")
        level = logger.level
        logger.addHandler(self.handler)
        logger.setLevel(logging.DEBUG)
        try:
            yield
        finally:
            logger.removeHandler(self.handler)
            logger.setLevel(level)

    def close(self) -> None:
        """Stop the decider's threads and the loop."""
        self.decider.close()
        self.loop.close()
        self._directory.cleanup()

    def decision_lines(self) -> list[bytes]:
        """The decision log's lines so far."""
        if not self.decision_log.exists():
            return []
        return self.decision_log.read_bytes().splitlines()

    def post(
        self,
        body: bytes,
        *,
        content_type: bytes = b"application/json",
        query: bytes = b"timeout=10s",
        chunks: int = 1,
        content_length: bytes | None = None,
    ) -> Reply:
        """``POST /validate?QUERY`` with ``body`` (in ``chunks`` ASGI messages), as uvicorn would hand it;
        ``content_length`` replaces the header's true value."""
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "https",
            "path": "/validate",
            "raw_path": b"/validate",
            "root_path": "",
            "query_string": query,
            "headers": [
                (b"host", b"verifier.verifier-system.svc"),
                (b"content-type", content_type),
                (
                    b"content-length",
                    str(len(body)).encode() if content_length is None else content_length,
                ),
            ],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8443),
        }
        size = max(1, -(-len(body) // chunks))
        parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
        messages = [
            {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
            for i, part in enumerate(parts)
        ]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await asyncio.sleep(3600)  # uvicorn sends nothing more until the client disconnects
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        self.loop.run_until_complete(self.app(scope, receive, send))
        start = next(m for m in sent if m["type"] == "http.response.start")
        body_out = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return Reply(int(start["status"]), body_out)


# ----------------------------------------------------------------------------------------- the oracle


class Unreadable(Exception):  # noqa: N818 - a verdict of the oracle, not a program error
    """The object does not say which images the kubelet would pull."""


@dataclass(frozen=True)
class Expected:
    """What the oracle expects for one body.

    ``review`` False: not an AdmissionReview that can be answered (no JSON object, wrong kind or
    apiVersion, no uid): a 4xx. Otherwise ``uid``/``api_version`` to answer with, and ``may_allow``: whether
    an ``allowed: true`` answer can be right (False when an enforced image is not on the allow-list or the
    object cannot be read).
    """

    review: bool
    uid: str = ""
    api_version: str = ""
    may_allow: bool = True
    why: str = ""
    logged: bool = False  # a decision record is due (a CREATE of a workload, not a dry run)


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return None


def _images(kind: str, obj: Any) -> list[str]:
    """Every image the kubelet pulls for ``obj`` of ``kind``; Unreadable when the object does not say."""
    node = obj
    for key in SPEC_PATH[kind]:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            raise Unreadable(f"no {key}")
        node = node[key]
    if not isinstance(node, dict):
        raise Unreadable("not an object")
    fields = (
        ("ephemeralContainers",)
        if kind == "EphemeralContainers"
        else ("initContainers", "containers", "ephemeralContainers")
    )
    images: list[str] = []
    for name in fields:
        items = node.get(name)
        if items is None:
            continue
        if not isinstance(items, list):
            raise Unreadable(f"{name} is not a list")
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("image"), str):
                raise Unreadable(f"a {name} entry without an image")
            images.append(item["image"])
    if not images:
        raise Unreadable("no containers")
    if kind != "EphemeralContainers" and node.get("volumes") is not None:
        volumes = node["volumes"]
        if not isinstance(volumes, list):
            raise Unreadable("volumes is not a list")
        for volume in volumes:
            if not isinstance(volume, dict):
                raise Unreadable("a volume is not an object")
            source = volume.get("image")
            if source is None:
                continue
            if not isinstance(source, dict) or not isinstance(source.get("reference"), str):
                raise Unreadable("an image volume without a reference")
            images.append(source["reference"])
    return images


def _allowed(image: str) -> bool:
    try:
        ref = parse_reference(image)
    except ImageReferenceError:
        return False
    return ref.pinned in ALLOWED


def expected(body: bytes) -> Expected:
    """The oracle's reading of ``body`` (see :class:`Expected`)."""
    doc = _decode(body)
    if not isinstance(doc, dict) or doc.get("kind") != "AdmissionReview":
        return Expected(False, why="not an AdmissionReview")
    api_version = doc.get("apiVersion")
    request = doc.get("request")
    if api_version not in ("admission.k8s.io/v1", "admission.k8s.io/v1beta1"):
        return Expected(False, why="apiVersion")
    if not isinstance(request, dict) or not isinstance(request.get("uid"), str):
        return Expected(False, why="no request.uid")
    uid = request["uid"]
    if not uid:
        return Expected(False, why="empty uid")
    answer: dict[str, Any] = {"uid": uid, "api_version": api_version}
    kind = request.get("kind")
    operation = request.get("operation")
    if operation not in ("CREATE", "UPDATE", "DELETE", "CONNECT"):
        return Expected(True, **answer, may_allow=False, why="operation")
    if not isinstance(kind, dict) or not isinstance(kind.get("kind"), str) or not kind["kind"]:
        return Expected(True, **answer, may_allow=False, why="request.kind")
    dry_run = request.get("dryRun")
    if dry_run is not None and not isinstance(dry_run, bool):
        return Expected(True, **answer, may_allow=False, why="dryRun")
    if operation in ("DELETE", "CONNECT") or kind["kind"] not in SPEC_PATH:
        return Expected(True, **answer, why="nothing to check")
    obj = request.get("object")
    if operation == "CREATE" and not dry_run and isinstance(obj, dict) and obj:
        # Reviews refused before a decision (no object; on UPDATE an oldObject that is not an object) are
        # answered, but not logged as decisions.
        answer["logged"] = True
    namespace = request.get("namespace")
    if isinstance(namespace, str) and any(fnmatch.fnmatchcase(namespace, p) for p in EXEMPT):
        return Expected(True, **answer, why="exempt")
    old = request.get("oldObject")
    try:
        if not isinstance(obj, dict) or not obj:
            raise Unreadable("no object")
        images = _images(kind["kind"], obj)
        if operation == "UPDATE":
            if not isinstance(old, dict):
                raise Unreadable("no oldObject on UPDATE")
            try:
                before = set(_images(kind["kind"], old)) if old else set()
            except Unreadable:
                before = set()
            images = [i for i in images if i not in before]
    except Unreadable as exc:
        return Expected(True, **answer, may_allow=False, why=f"unreadable: {exc}")
    if isinstance(namespace, str) and any(
        fnmatch.fnmatchcase(namespace, p) for p in WARN_NAMESPACES
    ):
        return Expected(True, **answer, why="warn rule")
    bad = [i for i in images if not _allowed(i)]
    return Expected(True, **answer, may_allow=not bad, why=f"not allowed: {bad!r}" if bad else "")
