"""AdmissionReview parsing and image extraction (``verifier.admission.review``) and the webhook's decisions
(``verifier.admission.decider``): rules, modes, digests, cache, sharing, deadline, fail-closed.

The decider tests use the real Rego bundle (the embedded engine) unless a test is about what happens when
the policy itself misbehaves; image verification is a fake (``verify_image`` is injected by design).
"""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import ASSETS, UPSTREAM
from verifier.admission.decider import (
    AdmissionDecider,
    ImageVerdict,
    Mode,
    VerdictCache,
    WebhookConfig,
    WebhookRule,
    parse_timeout,
    policy_version,
)
from verifier.admission.review import (
    POD_SPEC_PATHS,
    AdmissionError,
    Outcome,
    build_response,
    container_images,
    images_to_check,
    parse_image,
    parse_review,
)
from verifier.errors import InputError, NetworkError
from verifier.models import CheckResult, Decision, Finding, Severity

ADMISSION = UPSTREAM / "admission"
DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((ADMISSION / name).read_bytes())
    return doc


POD = load("connaisseur-v3/02_pod.json")


def pod_review(
    *images: str,
    init: tuple[str, ...] = (),
    ephemeral: tuple[str, ...] = (),
    namespace: str = "apps",
    operation: str = "CREATE",
    old_images: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    doc = copy.deepcopy(POD)
    req = doc["request"]
    req["namespace"] = namespace
    req["operation"] = operation
    spec = req["object"]["spec"]
    tmpl = spec["containers"][0]
    spec["containers"] = [{**tmpl, "name": f"c{i}", "image": im} for i, im in enumerate(images)]
    if init:
        spec["initContainers"] = [
            {**tmpl, "name": f"i{i}", "image": im} for i, im in enumerate(init)
        ]
    if ephemeral:
        spec["ephemeralContainers"] = [
            {"name": f"e{i}", "image": im} for i, im in enumerate(ephemeral)
        ]
    if old_images is not None:
        old = copy.deepcopy(req["object"])
        old["spec"]["containers"] = [{**tmpl, "image": im} for im in old_images]
        old["spec"].pop("initContainers", None)
        old["spec"].pop("ephemeralContainers", None)
        req["oldObject"] = old
    return doc


# ------------------------------------------------------------------------------------------- parsing


def test_parse_v1_and_v1beta1() -> None:
    v1 = parse_review(load("connaisseur-v3/02_pod.json"))
    assert (v1.api_version, v1.kind, v1.operation, v1.namespace) == (
        "admission.k8s.io/v1",
        "Pod",
        "CREATE",
        "test-connaisseur",
    )
    assert v1.uid == POD["request"]["uid"]
    beta = parse_review(load("connaisseur-v3/01_deployment.json"))
    assert (beta.api_version, beta.kind) == ("admission.k8s.io/v1beta1", "Deployment")


def test_dry_run_and_subresource() -> None:
    dry = parse_review(load("derived/pod_create_dryrun_v1.json"))
    assert dry.dry_run is True
    debug = parse_review(load("derived/pod_ephemeralcontainers_update_v1.json"))
    assert (debug.operation, debug.sub_resource) == ("UPDATE", "ephemeralcontainers")


@pytest.mark.parametrize(
    ("doc", "fragment", "has_uid"),
    [
        (None, "expected a JSON object", False),
        ([], "expected a JSON object", False),
        ({"kind": "Pod"}, "expected 'AdmissionReview'", False),
        ({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v2"}, "not supported", False),
        (
            {"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1"},
            "request is missing",
            False,
        ),
        (
            {
                "kind": "AdmissionReview",
                "apiVersion": "admission.k8s.io/v1",
                "request": {"uid": ""},
            },
            "request.uid is missing",
            False,
        ),
        (
            {
                "kind": "AdmissionReview",
                "apiVersion": "admission.k8s.io/v1",
                "request": {"uid": "u", "operation": "CREATE"},
            },
            "request.kind.kind is missing",
            True,
        ),
        (
            {
                "kind": "AdmissionReview",
                "apiVersion": "admission.k8s.io/v1",
                "request": {"uid": "u", "operation": "CREATE", "kind": {"kind": "Pod"}},
            },
            "request.object is missing on CREATE",
            True,
        ),
        (
            {
                "kind": "AdmissionReview",
                "apiVersion": "admission.k8s.io/v1",
                "request": {
                    "uid": "u",
                    "operation": "UPDATE",
                    "kind": {"kind": "Pod"},
                    "object": {"a": 1},
                },
            },
            "request.oldObject is missing on UPDATE",
            True,
        ),
        (
            {
                "kind": "AdmissionReview",
                "apiVersion": "admission.k8s.io/v1",
                "request": {
                    "uid": "u",
                    "operation": "UPDATE",
                    "kind": {"kind": "Pod"},
                    "object": {"a": 1},
                    "oldObject": "None",
                },
            },
            "request.oldObject is not an object",
            True,
        ),
    ],
)
def test_parse_errors(doc: Any, fragment: str, has_uid: bool) -> None:
    with pytest.raises(AdmissionError, match="AdmissionReview") as info:
        parse_review(doc)
    assert fragment in info.value.problem
    assert bool(info.value.uid) is has_uid


def test_junk_old_object_on_create_is_ignored() -> None:
    """Captured fixtures carry ``"oldObject": "None"`` / ``""`` on CREATE; the apiserver never does."""
    req = parse_review(load("connaisseur-v3/04_cronjob.json"))
    assert req.old_object is None
    assert [c.image for c in images_to_check(req)] == ["busybox"]


# ------------------------------------------------------------------------------------ image extraction


@pytest.mark.parametrize(
    ("name", "kind", "prefix"),
    [
        ("core.v1.Pod", "Pod", "spec"),
        ("apps.v1.Deployment", "Deployment", "spec.template.spec"),
        ("batch.v1.CronJob", "CronJob", "spec.jobTemplate.spec.template.spec"),
        ("batch.v1.Job", "Job", "spec.template.spec"),
    ],
)
def test_every_container_field_of_fuzzed_objects(name: str, kind: str, prefix: str) -> None:
    """kubernetes/api round-trip objects fill every field: init, regular and ephemeral containers."""
    obj = load(f"k8s-api-roundtrip/{name}.json")
    found = [(c.path, c.field, c.image) for c in container_images(kind, obj)]
    assert found == [
        (f"{prefix}.initContainers[0]", "initContainers", "imageValue"),
        (f"{prefix}.containers[0]", "containers", "imageValue"),
        (f"{prefix}.ephemeralContainers[0]", "ephemeralContainers", "imageValue"),
        (f"{prefix}.volumes[0].image", "volumes", "referenceValue"),
    ]


@pytest.mark.parametrize(
    ("name", "images"),
    [
        ("connaisseur-v3/03_replicaset.json", ["securesystemsengineering/sample-san-sama:hai"]),
        ("connaisseur-v3/05_replication_controller.json", ["nginx"]),
        ("connaisseur-v3/06_daemonset.json", ["quay.io/fluentd_elasticsearch/fluentd:v2.5.2"]),
        ("connaisseur-v3/07_statefulset.json", ["registry.k8s.io/nginx-slim:0.8"]),
        ("connaisseur-v3/08_job.json", ["perl:5.34.0"]),
        ("connaisseur-v3/09_dply_multi_image.json", ["busybox:1.32", "redis:alpine", "mysql:8"]),
        (
            "connaisseur-v3/20_pod_ephemeralcontainer.json",
            [
                "securesystemsengineering/charlie-image@"
                + "sha256:91ac9b26df583762234c1cdb2fc930364754ccc59bc752a2bfe298d2ea68f9ff",
                "nginx",
            ],
        ),
    ],
)
def test_every_workload_kind(name: str, images: list[str]) -> None:
    assert [c.image for c in images_to_check(parse_review(load(name)))] == images


def test_all_pod_template_kinds_are_known() -> None:
    assert set(POD_SPEC_PATHS) >= {
        "Pod",
        "Deployment",
        "ReplicaSet",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "ReplicationController",
    }


def test_update_checks_only_changed_images() -> None:
    req = parse_review(
        pod_review(
            f"a.io/x@{DIGEST}",
            f"a.io/y@{OTHER}",
            operation="UPDATE",
            old_images=(f"a.io/x@{DIGEST}",),
        )
    )
    assert [c.image for c in images_to_check(req)] == [f"a.io/y@{OTHER}"]
    same = parse_review(load("connaisseur-v3/10_update.json"))
    assert images_to_check(same) == []


def test_kubectl_debug_checks_the_debug_image_only() -> None:
    req = parse_review(load("derived/pod_ephemeralcontainers_update_v1.json"))
    assert [(c.field, c.image) for c in images_to_check(req)] == [("ephemeralContainers", "nginx")]


def image_volume_review(
    *references: str, operation: str = "CREATE", old: tuple[str, ...] = ()
) -> Any:
    """A Pod with image volumes (``volumes[].image``, Kubernetes 1.31+) next to its signed container."""
    doc = pod_review(
        GOOD, operation=operation, old_images=(GOOD,) if operation == "UPDATE" else None
    )
    req = doc["request"]
    req["object"]["spec"]["volumes"] = [{"name": "token", "secret": {"secretName": "t"}}] + [
        {"name": f"v{i}", "image": {"reference": r, "pullPolicy": "IfNotPresent"}}
        for i, r in enumerate(references)
    ]
    if operation == "UPDATE":
        req["oldObject"]["spec"]["volumes"] = [
            {"name": f"v{i}", "image": {"reference": r}} for i, r in enumerate(old)
        ]
    return doc


def test_image_volumes_are_checked() -> None:
    req = parse_review(image_volume_review(f"quay.io/models/llm@{OTHER}"))
    assert [(c.path, c.container, c.field, c.image) for c in images_to_check(req)] == [
        ("spec.containers[0]", "c0", "containers", GOOD),
        ("spec.volumes[1].image", "v0", "volumes", f"quay.io/models/llm@{OTHER}"),
    ]


def test_image_volume_update_checks_only_the_new_reference() -> None:
    doc = image_volume_review(
        f"quay.io/models/a@{DIGEST}",
        f"quay.io/models/b@{OTHER}",
        operation="UPDATE",
        old=(f"quay.io/models/a@{DIGEST}",),
    )
    assert [c.image for c in images_to_check(parse_review(doc))] == [f"quay.io/models/b@{OTHER}"]


@pytest.mark.parametrize(
    ("volumes", "fragment"),
    [
        ("x", "spec.volumes is not a list"),
        (["x"], "spec.volumes[0] is not an object"),
        ([{"name": "v", "image": "nginx"}], "spec.volumes[0].image is not an object"),
        ([{"name": "v", "image": {}}], "spec.volumes[0].image has no reference"),
        ([{"name": "v", "image": {"reference": " "}}], "spec.volumes[0].image has no reference"),
        ([{"name": "v", "image": {"reference": 7}}], "spec.volumes[0].image has no reference"),
    ],
)
def test_malformed_image_volumes(volumes: Any, fragment: str) -> None:
    doc = pod_review(GOOD)
    doc["request"]["object"]["spec"]["volumes"] = volumes
    with pytest.raises(InputError) as info:
        images_to_check(parse_review(doc))
    assert fragment in info.value.problem


def test_image_volume_of_an_unsigned_image_is_denied() -> None:
    """Before: the webhook never read volumes[].image, so the pod was admitted with the unsigned image."""
    decider = AdmissionDecider(WebhookConfig(), FakeVerifier({GOOD}))
    out = admit(decider, image_volume_review(BAD))
    assert out.allowed is False
    assert out.message.startswith(f"verifier: spec.volumes[1].image ({BAD}): ")
    assert admit(decider, image_volume_review(GOOD)).allowed is True


def ephemeral_kind_review(*debug_images: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        (ASSETS / "admission" / "ephemeralcontainers_kind_update_v1.json").read_bytes()
    )
    if debug_images:
        doc["request"]["object"]["ephemeralContainers"] = [
            {"name": f"debug{i}", "image": im} for i, im in enumerate(debug_images)
        ]
    return doc


def test_pre_1_23_ephemeral_containers_kind_checks_the_debug_image() -> None:
    """``kubectl debug`` before Kubernetes 1.23 sent kind EphemeralContainers, no PodSpec."""
    req = parse_review(ephemeral_kind_review())
    assert req.is_workload
    assert [(c.path, c.field, c.image) for c in images_to_check(req)] == [
        ("ephemeralContainers[0]", "ephemeralContainers", "nginx")
    ]
    # Only new debug containers: the one already running is not checked again.
    doc = ephemeral_kind_review(f"a.io/x@{DIGEST}", f"a.io/y@{OTHER}")
    doc["request"]["oldObject"]["ephemeralContainers"] = [
        {"name": "x", "image": f"a.io/x@{DIGEST}"}
    ]
    assert [c.image for c in images_to_check(parse_review(doc))] == [f"a.io/y@{OTHER}"]


def test_pre_1_23_ephemeral_containers_kind_is_verified() -> None:
    """Before: kind EphemeralContainers was not a workload kind, so any debug image was admitted."""
    decider = AdmissionDecider(WebhookConfig(), FakeVerifier({GOOD}))
    out = admit(decider, ephemeral_kind_review(BAD))
    assert out.allowed is False
    assert out.message.startswith(f"verifier: ephemeralContainers[0] ({BAD}): ")
    assert admit(decider, ephemeral_kind_review(GOOD)).allowed is True


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda o: o.pop("ephemeralContainers"), "the object has no containers"),
        (lambda o: o.update(ephemeralContainers={}), "ephemeralContainers is not a list"),
        (
            lambda o: o.update(ephemeralContainers=[{"name": "d"}]),
            "ephemeralContainers[0] has no image",
        ),
    ],
)
def test_malformed_ephemeral_containers_kind(mutate: Any, fragment: str) -> None:
    doc = ephemeral_kind_review()
    mutate(doc["request"]["object"])
    with pytest.raises(InputError) as info:
        images_to_check(parse_review(doc))
    assert fragment in info.value.problem


def test_update_with_malformed_old_object_checks_everything() -> None:
    doc = pod_review(f"a.io/x@{DIGEST}", operation="UPDATE", old_images=())
    doc["request"]["oldObject"] = {"spec": "broken"}
    assert len(images_to_check(parse_review(doc))) == 1


def test_delete_connect_and_non_workloads_check_nothing() -> None:
    doc = pod_review("nginx", operation="DELETE")
    doc["request"]["oldObject"], doc["request"]["object"] = doc["request"]["object"], None
    assert images_to_check(parse_review(doc)) == []
    assert images_to_check(parse_review(load("connaisseur-v3/11_role.json"))) == []


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda s: s.pop("containers"), "has no containers"),
        (lambda s: s.update(containers="nginx"), "spec.containers is not a list"),
        (lambda s: s.update(containers=["nginx"]), "spec.containers[0] is not an object"),
        (lambda s: s["containers"][0].update(image=""), "spec.containers[0] has no image"),
        (lambda s: s["containers"][0].update(image=7), "spec.containers[0] has no image"),
        (lambda s: s.update(initContainers={}), "spec.initContainers is not a list"),
    ],
)
def test_malformed_pod_specs(mutate: Any, fragment: str) -> None:
    doc = pod_review("nginx")
    mutate(doc["request"]["object"]["spec"])
    with pytest.raises(InputError) as info:
        images_to_check(parse_review(doc))
    assert fragment in info.value.problem


@pytest.mark.parametrize(
    ("image", "canonical", "tag", "digest"),
    [
        ("nginx", "docker.io/library/nginx", "", ""),
        ("nginx:1.27", "docker.io/library/nginx", "1.27", ""),
        ("ghcr.io/acme/app@" + DIGEST, "ghcr.io/acme/app", "", DIGEST),
        ("localhost:5000/app:v1@" + DIGEST, "localhost:5000/app", "v1", DIGEST),
        ("acme/app", "docker.io/acme/app", "", ""),
        # One spelling per registry (issue 17): the kubelet pulls the same image for each.
        ("GHCR.IO/acme/app@" + DIGEST, "ghcr.io/acme/app", "", DIGEST),
        ("ghcr.io:443/acme/app:v1@" + DIGEST, "ghcr.io/acme/app", "v1", DIGEST),
        ("index.docker.io/library/nginx@" + DIGEST, "docker.io/library/nginx", "", DIGEST),
        ("registry-1.docker.io/library/nginx@" + DIGEST, "docker.io/library/nginx", "", DIGEST),
        ("registry-1.docker.io/nginx", "docker.io/library/nginx", "", ""),
        # distribution/reference reads an upper-case first component as a host.
        ("UPPER/case", "upper:443/case", "", ""),
    ],
)
def test_parse_image(image: str, canonical: str, tag: str, digest: str) -> None:
    ref = parse_image(image)
    assert (ref.canonical, ref.tag, ref.digest) == (canonical, tag, digest)
    assert ref.pinned == (f"{canonical}@{digest}" if digest else "")


@pytest.mark.parametrize(
    "image",
    [
        "/itswrong",
        "docker.io/UPPER/case",
        "a b",
        "x@sha256:short",
        "a.io/x:bad tag",
        "GHCR.IO/Acme/x",
    ],
)
def test_parse_image_rejects(image: str) -> None:
    with pytest.raises(InputError, match="not a valid image reference"):
        parse_image(image)


def test_build_response() -> None:
    denied = build_response("admission.k8s.io/v1beta1", "u1", Outcome(False, "no", ("w",)))
    assert denied == {
        "apiVersion": "admission.k8s.io/v1beta1",
        "kind": "AdmissionReview",
        "response": {
            "uid": "u1",
            "allowed": False,
            "warnings": ["w"],
            "status": {"code": 403, "message": "no", "reason": "Forbidden"},
        },
    }
    allowed = build_response("admission.k8s.io/v1", "u2", Outcome(True))
    assert allowed["response"] == {"uid": "u2", "allowed": True}


# ------------------------------------------------------------------------------------------- timeouts


@pytest.mark.parametrize(
    ("value", "budget"),
    [
        ("10s", 9.0),
        ("30s", 29.0),
        ("45s", 29.0),
        ("1m", 29.0),
        ("2500ms", 1.5),
        ("1s", 0.5),
        (None, 9.0),
        ("soon", 9.0),
        ("", 9.0),
        ("0s", 0.1),
    ],
)
def test_parse_timeout(value: str | None, budget: float) -> None:
    assert parse_timeout(value, WebhookConfig()) == pytest.approx(budget)


# ------------------------------------------------------------------------------------------- decider


class FakeVerifier:
    """Injected verify_image: pass for refs in ``good``, fail otherwise; counts calls."""

    def __init__(
        self, good: set[str], *, delay: float = 0.0, error: Exception | None = None
    ) -> None:
        self.good = good
        self.delay = delay
        self.error = error
        self.calls: list[str] = []

    async def __call__(self, ref: str) -> CheckResult:
        self.calls.append(ref)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        if ref in self.good:
            return CheckResult(
                check="signature", subject=ref, verdict="pass", facts={"count": 1, "failed": 0}
            )
        return CheckResult(
            check="signature",
            subject=ref,
            verdict="fail",
            findings=(Finding(rule="no-signature", severity=Severity.HIGH, message="none"),),
            facts={"count": 0, "failed": 0},
        )


GOOD = f"ghcr.io/acme/app@{DIGEST}"
BAD = f"ghcr.io/acme/app@{OTHER}"


def admit(decider: AdmissionDecider, doc: dict[str, Any], budget: float = 5.0) -> Outcome:
    return asyncio.run(decider.admit(parse_review(doc), budget))


def test_enforce_allows_signed_and_denies_unsigned() -> None:
    verifier = FakeVerifier({GOOD})
    decider = AdmissionDecider(WebhookConfig(), verifier)
    assert admit(decider, pod_review(GOOD)).allowed is True
    out = admit(decider, pod_review(GOOD, BAD))
    assert out.allowed is False
    assert out.message == (
        f"verifier: spec.containers[1] ({BAD}): {BAD}: not signed by a trusted signer "
        "(no-signature)"
    )


def test_require_digest_names_the_digest_when_resolvable() -> None:
    async def resolve(ref: str) -> str:
        assert ref == "ghcr.io/acme/app:v1"
        return DIGEST

    decider = AdmissionDecider(WebhookConfig(), FakeVerifier({GOOD}), resolve_digest=resolve)
    out = admit(decider, pod_review("ghcr.io/acme/app:v1"))
    assert out.allowed is False
    assert f"image is not pinned by digest; use {GOOD}" in out.message


def test_without_require_digest_a_tag_is_resolved_once_then_verified_by_digest() -> None:
    verifier = FakeVerifier({GOOD})
    decider = AdmissionDecider(
        WebhookConfig(require_digest=False), verifier, resolve_digest=lambda _ref: DIGEST
    )
    assert admit(decider, pod_review("ghcr.io/acme/app:v1")).allowed is True
    assert verifier.calls == [GOOD]
    unresolvable = AdmissionDecider(WebhookConfig(require_digest=False), verifier)
    out = admit(unresolvable, pod_review("ghcr.io/acme/app:v1"))
    assert out.allowed is False and "could not be resolved to a digest" in out.message


def test_modes_warn_and_audit_admit() -> None:
    rules = (
        WebhookRule(namespaces=("staging",), mode=Mode.WARN),
        WebhookRule(namespaces=("preview-*",), images=("ghcr.io/acme/*",), mode=Mode.AUDIT),
    )
    decider = AdmissionDecider(WebhookConfig(rules=rules), FakeVerifier({GOOD}))
    warned = admit(decider, pod_review(BAD, namespace="staging"))
    assert warned.allowed is True
    assert warned.warnings == (
        f"would be denied: spec.containers[0] ({BAD}): {BAD}: not signed by a "
        "trusted signer (no-signature)",
    )
    audited = admit(decider, pod_review(BAD, namespace="preview-42"))
    assert (audited.allowed, audited.warnings) == (True, ())
    assert audited.audit == {
        "would-deny": f"spec.containers[0] ({BAD}): {BAD}: not signed by a trusted "
        "signer (no-signature)"
    }
    # The audit rule is for ghcr.io/acme/* only: other images in preview-42 fall back to enforce.
    other = f"quay.io/acme/app@{OTHER}"
    assert admit(decider, pod_review(other, namespace="preview-42")).allowed is False


SPELLINGS = [
    f"GHCR.IO/acme/app@{OTHER}",
    f"ghcr.io:443/acme/app@{OTHER}",
    f"Ghcr.Io:443/acme/app:v2@{OTHER}",
    f"index.docker.io/library/nginx@{OTHER}",
    f"registry-1.docker.io/library/nginx@{OTHER}",
    f"REGISTRY-1.DOCKER.IO:443/nginx@{OTHER}",
    f"nginx@{OTHER}",
]


@pytest.mark.parametrize("image", SPELLINGS)
def test_every_spelling_falls_under_the_enforce_rule(image: str) -> None:
    """Issue 17: with an enforce rule for ghcr.io/acme/* and docker.io/library/nginx and default mode audit,
    these spellings were admitted unverified (audit); the kubelet pulls the same image for each."""
    rules = (WebhookRule(images=("ghcr.io/acme/*", "docker.io/library/nginx"), mode=Mode.ENFORCE),)
    decider = AdmissionDecider(WebhookConfig(mode=Mode.AUDIT, rules=rules), FakeVerifier({GOOD}))
    out = admit(decider, pod_review(image))
    assert out.allowed is False
    assert out.message.startswith(f"verifier: spec.containers[0] ({image}): ")
    assert decider.rule_for("apps", parse_image(image)).index == 0


@pytest.mark.parametrize(
    "pattern",
    ["GHCR.IO/acme/*", "ghcr.io:443/acme/*", "ghcr.io/acme/app", "Ghcr.io/acme/app"],
)
def test_rule_patterns_are_canonical_too(pattern: str) -> None:
    decider = AdmissionDecider(
        WebhookConfig(rules=(WebhookRule(images=(pattern,), mode=Mode.AUDIT),)), FakeVerifier(set())
    )
    assert decider.rule_for("apps", parse_image(f"ghcr.io/acme/app@{DIGEST}")).index == 0
    assert decider.rule_for("apps", parse_image(f"ghcr.io/other/app@{DIGEST}")).index == -1


def test_docker_hub_patterns_in_familiar_form() -> None:
    rules = (WebhookRule(images=("nginx", "acme/*"), mode=Mode.AUDIT),)
    decider = AdmissionDecider(WebhookConfig(rules=rules), FakeVerifier(set()))
    for image in ("nginx", "index.docker.io/nginx:1", "docker.io/acme/x", "acme/y@" + DIGEST):
        assert decider.rule_for("apps", parse_image(image)).index == 0, image
    for image in ("quay.io/nginx", "nginx-unprivileged", "docker.io/library/acme"):
        assert decider.rule_for("apps", parse_image(image)).index == -1, image


def test_every_spelling_shares_one_cache_entry() -> None:
    verifier = FakeVerifier({f"docker.io/library/nginx@{DIGEST}"})
    decider = AdmissionDecider(WebhookConfig(), verifier)
    for image in (
        f"nginx@{DIGEST}",
        f"index.docker.io/library/nginx@{DIGEST}",
        f"REGISTRY-1.DOCKER.IO:443/nginx:1.27@{DIGEST}",
        f"docker.io/nginx@{DIGEST}",
    ):
        assert admit(decider, pod_review(image)).allowed is True, image
    assert verifier.calls == [f"docker.io/library/nginx@{DIGEST}"]
    rule = decider.rule_for("apps", None)
    assert decider._cache_key(f"GHCR.IO:443/a/b@{DIGEST}", rule) == decider._cache_key(
        f"ghcr.io/a/b@{DIGEST}", rule
    )


def test_exempt_namespace_checks_nothing() -> None:
    verifier = FakeVerifier(set())
    decider = AdmissionDecider(WebhookConfig(exempt_namespaces=("kube-system", "team-*")), verifier)
    assert admit(decider, pod_review(BAD, namespace="kube-system")).allowed is True
    assert admit(decider, pod_review(BAD, namespace="team-a")).allowed is True
    assert verifier.calls == []
    assert admit(decider, pod_review(BAD, namespace="kube-public")).allowed is False


def test_annotations_cannot_exempt() -> None:
    doc = pod_review(BAD)
    meta = doc["request"]["object"]["metadata"]
    meta["annotations"] = {"verifier/skip": "true", "connaisseur/skip": "true"}
    meta["labels"] = {"verifier.io/exempt": "true"}
    assert admit(AdmissionDecider(WebhookConfig(), FakeVerifier(set())), doc).allowed is False


def test_dry_run_gets_the_same_answer() -> None:
    decider = AdmissionDecider(WebhookConfig(), FakeVerifier({GOOD}))
    doc = pod_review(BAD)
    doc["request"]["dryRun"] = True
    assert admit(decider, doc).allowed is False


def test_verify_error_denies_without_details_and_is_cached_briefly() -> None:
    now = [1000.0]
    verifier = FakeVerifier(
        {GOOD}, error=NetworkError("registry ghcr.io: connect failed, token=s3cret")
    )
    decider = AdmissionDecider(
        WebhookConfig(failure_ttl_seconds=10), verifier, clock=lambda: now[0]
    )
    out = admit(decider, pod_review(GOOD))
    assert out.allowed is False
    assert "could not be verified (NetworkError, lookup " in out.message
    assert "s3cret" not in out.message
    admit(decider, pod_review(GOOD))
    assert len(verifier.calls) == 1  # failure cached
    now[0] += 11
    verifier.error = None
    assert admit(decider, pod_review(GOOD)).allowed is True
    assert len(verifier.calls) == 2


def test_unexpected_exception_and_bad_return_deny() -> None:
    decider = AdmissionDecider(WebhookConfig(), FakeVerifier(set(), error=ZeroDivisionError("x")))
    out = admit(decider, pod_review(GOOD))
    assert out.allowed is False and "unknown error, please check the verifier logs" in out.message

    def returns_junk(_ref: str) -> Any:
        return {"verdict": "pass"}

    assert admit(AdmissionDecider(WebhookConfig(), returns_junk), pod_review(GOOD)).allowed is False


def test_rust_panic_in_the_policy_engine_denies() -> None:
    class PanicLike(BaseException):
        """pyo3's PanicException derives from BaseException."""

    def panicking_decide(*_a: Any, **_k: Any) -> tuple[Decision, dict[str, Any]]:
        raise PanicLike("engine is unsendable")

    decider = AdmissionDecider(WebhookConfig(), FakeVerifier({GOOD}), decide_fn=panicking_decide)
    assert admit(decider, pod_review(GOOD)).allowed is False


def test_policy_allowing_a_failed_verdict_still_denies() -> None:
    """A bundle without a rule for the check must not open the cluster."""

    def allow_all(*_a: Any, **_k: Any) -> tuple[Decision, dict[str, Any]]:
        return Decision(allowed=True), {}

    decider = AdmissionDecider(WebhookConfig(), FakeVerifier(set()), decide_fn=allow_all)
    out = admit(decider, pod_review(BAD))
    assert out.allowed is False and "signature verdict is 'fail'" in out.message


def test_policy_deny_on_a_pass_is_respected() -> None:
    def deny_all(*_a: Any, **_k: Any) -> tuple[Decision, dict[str, Any]]:
        return Decision(allowed=False, deny=("release freeze",)), {}

    out = admit(
        AdmissionDecider(WebhookConfig(), FakeVerifier({GOOD}), decide_fn=deny_all),
        pod_review(GOOD),
    )
    assert out.allowed is False and "release freeze" in out.message


def test_policy_config_reaches_the_rego_policy() -> None:
    """min_signatures from the rule's config is read by policies/signature.rego."""
    rules = (WebhookRule(namespaces=("prod",), config={"signature": {"min_signatures": 2}}),)
    decider = AdmissionDecider(WebhookConfig(rules=rules), FakeVerifier({GOOD}))
    assert admit(decider, pod_review(GOOD, namespace="dev")).allowed is True
    out = admit(decider, pod_review(GOOD, namespace="prod"))
    assert out.allowed is False and "1 verified signature(s), the policy needs 2" in out.message


def test_policy_warnings_become_admission_warnings() -> None:
    async def verify(ref: str) -> CheckResult:
        return CheckResult(
            check="signature",
            subject=ref,
            verdict="pass",
            findings=(Finding(rule="key-mismatch", severity=Severity.LOW, message="m"),),
            facts={"count": 1, "failed": 1},
        )

    out = admit(AdmissionDecider(WebhookConfig(), verify), pod_review(GOOD))
    assert out.allowed is True
    assert out.warnings == (f"{GOOD}: 1 signature(s) did not verify (key-mismatch)",)


def test_deadline_denies_and_the_lookup_finishes_for_later_requests() -> None:
    verifier = FakeVerifier({GOOD}, delay=0.3)
    decider = AdmissionDecider(WebhookConfig(), verifier)

    async def scenario() -> tuple[Outcome, Outcome]:
        req = parse_review(pod_review(GOOD))
        first = await decider.admit(req, 0.05)
        await asyncio.sleep(0.4)
        second = await decider.admit(req, 0.05)
        return first, second

    first, second = asyncio.run(scenario())
    assert first.allowed is False and "did not finish within 0.1s" in first.message
    assert second.allowed is True
    assert verifier.calls == [GOOD]


def test_concurrent_requests_share_one_lookup() -> None:
    verifier = FakeVerifier({GOOD}, delay=0.05)
    events: list[tuple[str, str]] = []
    decider = AdmissionDecider(
        WebhookConfig(), verifier, events=lambda n, label: events.append((n, label))
    )

    async def scenario() -> list[Outcome]:
        reqs = [parse_review(pod_review(GOOD)) for _ in range(20)]
        return list(await asyncio.gather(*(decider.admit(r, 2.0) for r in reqs)))

    outs = asyncio.run(scenario())
    assert all(o.allowed for o in outs)
    assert verifier.calls == [GOOD]
    assert events.count(("cache", "miss")) == 1 and events.count(("cache", "shared")) == 19


def test_cache_ttl_and_policy_version() -> None:
    now = [0.0]
    verifier = FakeVerifier({GOOD})
    decider = AdmissionDecider(WebhookConfig(cache_ttl_seconds=60), verifier, clock=lambda: now[0])
    for _ in range(3):
        admit(decider, pod_review(GOOD))
    assert len(verifier.calls) == 1
    now[0] = 61
    admit(decider, pod_review(GOOD))
    assert len(verifier.calls) == 2
    assert policy_version(WebhookConfig(), "sha256:a") != policy_version(
        WebhookConfig(), "sha256:b"
    )
    assert policy_version(WebhookConfig(), "x") != policy_version(
        WebhookConfig(mode=Mode.WARN), "x"
    )


def test_cache_is_bounded() -> None:
    cache = VerdictCache(max_entries=2)

    async def fill() -> None:
        for i in range(5):
            await cache.get((str(i),), _const, lambda *_: None)

    asyncio.run(fill())
    assert len(cache) == 2


async def _const() -> tuple[ImageVerdict, float]:
    return ImageVerdict(True), 60.0


def test_non_workload_and_delete_are_allowed_without_lookups() -> None:
    verifier = FakeVerifier(set())
    decider = AdmissionDecider(WebhookConfig(), verifier)
    assert admit(decider, load("connaisseur-v3/11_role.json")).allowed is True
    doc = pod_review(BAD, operation="DELETE")
    doc["request"]["oldObject"], doc["request"]["object"] = doc["request"]["object"], None
    assert admit(decider, doc).allowed is True
    assert verifier.calls == []


def test_messages_are_bounded() -> None:
    images = [f"ghcr.io/acme/app{i}@{OTHER}" for i in range(200)]
    out = admit(AdmissionDecider(WebhookConfig(), FakeVerifier(set())), pod_review(*images))
    assert out.allowed is False and len(out.message) <= 1024 and out.message.endswith("…")


def test_now_is_passed_to_the_policy() -> None:
    seen: list[datetime] = []

    def recording(
        results: Any, config: Any, *, now: datetime, **_k: Any
    ) -> tuple[Decision, dict[str, Any]]:
        seen.append(now)
        return Decision(allowed=True), {}

    fixed = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    decider = AdmissionDecider(
        WebhookConfig(), FakeVerifier({GOOD}), decide_fn=recording, now=lambda: fixed
    )
    admit(decider, pod_review(GOOD))
    assert seen == [fixed]


def test_several_results_per_image_the_first_must_pass() -> None:
    """verify_image may return [signature, sbom-attestation, ...]: all go to the policy."""

    def verify(ref: str) -> list[CheckResult]:
        sig = CheckResult(
            check="signature", subject=ref, verdict="pass", facts={"count": 1, "failed": 0}
        )
        sbom = CheckResult(
            check="sbom-attestation", subject=ref, verdict="error", facts={"error": "boom"}
        )
        return [sig, sbom]

    out = admit(AdmissionDecider(WebhookConfig(), verify), pod_review(GOOD))
    assert out.allowed is False and "sbom-attestation could not be evaluated: boom" in out.message

    def allow_all(*_a: Any, **_k: Any) -> tuple[Decision, dict[str, Any]]:
        return Decision(allowed=True), {}

    def unsigned_first(ref: str) -> list[CheckResult]:
        return [
            CheckResult(check="signature", subject=ref, verdict="fail"),
            CheckResult(check="sbom-attestation", subject=ref, verdict="pass"),
        ]

    out = admit(
        AdmissionDecider(WebhookConfig(), unsigned_first, decide_fn=allow_all), pod_review(GOOD)
    )
    assert out.allowed is False
    for junk in ([], ["x"], None):
        assert (
            admit(AdmissionDecider(WebhookConfig(), lambda _r, j=junk: j), pod_review(GOOD)).allowed
            is False
        )


def test_webhook_rules_package_rules_reach_the_sbom_check() -> None:
    """A webhook rule may name its own sbom-attestation denied_packages (policy settings): the check must
    evaluate them too (the policy denies on the matches of the rules its settings name, and denies a rule
    the check did not evaluate)."""
    from verifier.adapters.commands.webhook import with_rule_package_rules
    from verifier.checks.sbom_attestation import SbomSection
    from verifier.models.config import VerifierConfig

    base = VerifierConfig(
        sections={"sbom": SbomSection(denied_packages=("pkg:npm/lodash@<4.17.21",))}
    )
    rule = {"sbom-attestation": {"denied_packages": ["openssl@<3", "pkg:npm/lodash@<4.17.21"]}}
    merged = with_rule_package_rules(base, rule)
    assert merged.sections["sbom"].denied_packages == ("pkg:npm/lodash@<4.17.21", "openssl@<3")
    assert with_rule_package_rules(base, {"signature": {}}) is base
    assert with_rule_package_rules(VerifierConfig(), rule).sections == {}
