"""Issue 17 through the real webhook over TLS: every image the kubelet pulls is verified, in one spelling.

- Image volumes (``volumes[].image.reference``) and the pre-1.23 ``EphemeralContainers`` kind: the real
  signature check against the local registry (Debian docker-registry on 127.0.0.1), images signed here with
  THROWAWAY keys, the decider built by the command's own :func:`build_decider`.
- Multi-arch: an OCI index of two platform manifests, signed on the index or on the platform manifests,
  pinned either way; what the webhook verifies today (the pinned digest's own signatures).
- Spellings of one image (``GHCR.IO``, ``:443``, ``index.docker.io``, ``registry-1.docker.io``): image
  verification is a stand-in that fails every image, because these names are on ghcr.io and Docker Hub,
  which cannot be reached here, and the point is which rule (enforce or audit) the failure falls under. The
  server, TLS, AdmissionReview parsing, rules, cache and the Rego policy are real.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ASSETS
from tests.integration.conftest import LocalRegistry, registry  # noqa: F401 - fixture used by name
from tests.integration.test_webhook_registry import POD, Images, _config, _key, _pod, _sign
from tests.integration.webhook_support import ApiserverClient, Pki, ServerThread, make_pki
from verifier.adapters.commands.webhook import build_decider
from verifier.adapters.webhook import create_app
from verifier.admission.decider import AdmissionDecider, Mode, WebhookConfig, WebhookRule
from verifier.models import CheckResult, Finding, Severity
from verifier.sources.oci_common import OCI_INDEX, OCI_MANIFEST

EPHEMERAL_KIND = json.loads(
    (ASSETS / "admission" / "ephemeralcontainers_kind_update_v1.json").read_bytes()
)
DIGEST = "sha256:" + "cd" * 32


def _review(client: ApiserverClient, body: bytes) -> dict[str, Any]:
    answer = client.review(body)
    assert answer.status == 200 and answer.response is not None, answer.body
    return answer.response


def _with_volumes(pod: bytes, references: list[str]) -> bytes:
    doc = json.loads(pod)
    doc["request"]["object"]["spec"]["volumes"] = [
        {"name": f"model{i}", "image": {"reference": r, "pullPolicy": "IfNotPresent"}}
        for i, r in enumerate(references)
    ]
    return json.dumps(doc).encode()


def _debug_kind(debug_image: str) -> bytes:
    doc = copy.deepcopy(EPHEMERAL_KIND)
    doc["request"]["object"]["ephemeralContainers"][0]["image"] = debug_image
    return json.dumps(doc).encode()


@pytest.fixture(scope="module")
def signed_setup(
    registry: LocalRegistry,  # noqa: F811 - the fixture
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Images, ServerThread, Pki]]:
    d = tmp_path_factory.mktemp("webhook-images")
    images = Images(registry, d)
    pki = make_pki(d)
    srv = ServerThread(create_app(build_decider(_config(d))), pki).start()
    try:
        yield images, srv, pki
    finally:
        srv.stop()


@pytest.fixture
def signed_client(signed_setup: tuple[Images, ServerThread, Pki]) -> Iterator[ApiserverClient]:
    _images, srv, pki = signed_setup
    with ApiserverClient(srv.port, pki.ca_file) as c:
        yield c


@pytest.mark.registry
def test_image_volume_is_verified(signed_setup: Any, signed_client: ApiserverClient) -> None:
    """Before: a signed container with an unsigned image volume was admitted."""
    images = signed_setup[0]
    response = _review(signed_client, _with_volumes(_pod([images.signed]), [images.unsigned]))
    assert response["allowed"] is False
    message = response["status"]["message"]
    assert f"spec.volumes[0].image ({images.unsigned}): " in message
    assert "not signed by a trusted signer (no-signature)" in message
    response = _review(signed_client, _with_volumes(_pod([images.signed]), [images.wrong_signer]))
    assert response["allowed"] is False
    assert "key-mismatch" in response["status"]["message"]
    response = _review(signed_client, _with_volumes(_pod([images.signed]), [images.signed]))
    assert response["allowed"] is True, response


@pytest.mark.registry
def test_pre_1_23_debug_container_is_verified(
    signed_setup: Any, signed_client: ApiserverClient
) -> None:
    """Before: kind EphemeralContainers was not read, so ``kubectl debug`` ran any image."""
    images = signed_setup[0]
    response = _review(signed_client, _debug_kind(images.unsigned))
    assert response["allowed"] is False
    assert f"ephemeralContainers[0] ({images.unsigned}): " in response["status"]["message"]
    response = _review(signed_client, _debug_kind(images.signed))
    assert response["allowed"] is True, response


class FailEverything:
    """Stand-in image verification (see the module docstring): every image fails; calls are recorded."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, ref: str) -> CheckResult:
        self.calls.append(ref)
        finding = Finding(rule="no-signature", severity=Severity.HIGH, message="no signature")
        return CheckResult(
            check="signature",
            subject=ref,
            verdict="fail",
            findings=(finding,),
            facts={"count": 0, "failed": 0},
        )


@pytest.fixture(scope="module")
def spelling_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerThread, Pki, FailEverything]]:
    pki = make_pki(tmp_path_factory.mktemp("webhook-spelling"))
    rules = (WebhookRule(images=("ghcr.io/acme/*", "docker.io/library/nginx"), mode=Mode.ENFORCE),)
    verifier = FailEverything()
    decider = AdmissionDecider(WebhookConfig(mode=Mode.AUDIT, rules=rules), verifier)
    srv = ServerThread(create_app(decider), pki).start()
    try:
        yield srv, pki, verifier
    finally:
        srv.stop()


SPELLINGS = [
    f"ghcr.io/acme/app@{DIGEST}",
    f"GHCR.IO/acme/app@{DIGEST}",
    f"ghcr.io:443/acme/app@{DIGEST}",
    f"nginx@{DIGEST}",
    f"docker.io/library/nginx@{DIGEST}",
    f"index.docker.io/library/nginx@{DIGEST}",
    f"registry-1.docker.io/library/nginx@{DIGEST}",
]


@pytest.mark.parametrize("image", SPELLINGS)
def test_every_spelling_is_enforced(
    image: str, spelling_server: tuple[ServerThread, Pki, FailEverything]
) -> None:
    """Before: with the enforce rule for ghcr.io/acme/* and docker.io/library/nginx and default mode audit,
    the upper-case, :443, index.docker.io and registry-1.docker.io spellings were admitted (audit)."""
    srv, pki, _verifier = spelling_server
    doc = copy.deepcopy(POD)
    doc["request"]["object"]["spec"]["containers"][0]["image"] = image
    with ApiserverClient(srv.port, pki.ca_file) as client:
        response = _review(client, json.dumps(doc).encode())
    assert response["allowed"] is False, response
    assert response["status"]["message"].startswith(f"verifier: spec.containers[0] ({image}): ")


def test_other_images_fall_under_the_default_audit_mode(
    spelling_server: tuple[ServerThread, Pki, FailEverything],
) -> None:
    srv, pki, verifier = spelling_server
    doc = copy.deepcopy(POD)
    doc["request"]["object"]["spec"]["containers"][0]["image"] = f"quay.io/acme/app@{DIGEST}"
    with ApiserverClient(srv.port, pki.ca_file) as client:
        response = _review(client, json.dumps(doc).encode())
    assert response["allowed"] is True
    assert "would-deny" in response["auditAnnotations"]
    # At most one lookup per image, whatever the spelling (the cache key is canonical).
    canonical = {
        f"docker.io/library/nginx@{DIGEST}",
        f"ghcr.io/acme/app@{DIGEST}",
        f"quay.io/acme/app@{DIGEST}",
    }
    assert set(verifier.calls) <= canonical
    assert len(verifier.calls) == len(set(verifier.calls))


# ------------------------------------------------------------------------------------ multi-arch today


class MultiArch:
    """An OCI index of two platform manifests in the local registry, in four signing states: the index
    signed, only the platform manifests signed (and the reverse, per pin)."""

    def __init__(self, reg: LocalRegistry, directory: Path) -> None:
        good = _key(directory, "good")
        self.key = directory / "good.pub"
        self.reg = reg
        self.index, self.amd64, self.arm64, self.repo = self._push("multiarch-index-signed")
        _sign(reg, self.repo, self.index, good)
        self.children_only = self._push("multiarch-children-signed")
        for child in self.children_only[1:3]:
            _sign(reg, self.children_only[3], child, good)

    def _push(self, prefix: str) -> tuple[str, str, str, str]:
        repo = self.reg.new_repo(prefix)
        children = []
        for arch in ("amd64", "arm64"):
            digest, raw = self.reg.push_image(repo, None)
            children.append(
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": digest,
                    "size": len(raw),
                    "platform": {"os": "linux", "architecture": arch},
                }
            )
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}
        digest, _ = self.reg.push_manifest(repo, "v1", index, OCI_INDEX)
        return digest, children[0]["digest"], children[1]["digest"], repo


@pytest.fixture(scope="module")
def multi_arch(
    registry: LocalRegistry,  # noqa: F811 - the fixture
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[MultiArch, ServerThread, Pki]]:
    d = tmp_path_factory.mktemp("webhook-multiarch")
    images = MultiArch(registry, d)
    pki = make_pki(d)
    srv = ServerThread(create_app(build_decider(_config(d))), pki).start()
    try:
        yield images, srv, pki
    finally:
        srv.stop()


@pytest.mark.registry
def test_multi_arch_today_verifies_exactly_the_pinned_digest(multi_arch: Any) -> None:
    """What is verified today (issue 17, multi-arch): signatures on the pinned digest only. The index pinned
    and signed is admitted (its signature binds every platform manifest by digest); a platform manifest
    pinned when only the index is signed, and the index pinned when only the platform manifests are
    signed, are denied. The choice between these and the alternatives is the lead's (see the report)."""
    images, srv, pki = multi_arch
    reg = images.reg
    index_signed = reg.ref(images.repo, images.index)
    platform_of_signed_index = reg.ref(images.repo, images.amd64)
    children_index, children_amd64, _arm, children_repo = images.children_only
    with ApiserverClient(srv.port, pki.ca_file) as client:
        assert _review(client, _pod([index_signed]))["allowed"] is True
        denied = _review(client, _pod([platform_of_signed_index]))
        assert denied["allowed"] is False
        assert "not signed by a trusted signer (no-signature)" in denied["status"]["message"]
        assert _review(client, _pod([reg.ref(children_repo, children_amd64)]))["allowed"] is True
        denied = _review(client, _pod([reg.ref(children_repo, children_index)]))
        assert denied["allowed"] is False
        assert "no-signature" in denied["status"]["message"]


@pytest.mark.registry
def test_the_gate_agrees_and_says_how_to_sign_an_index(
    multi_arch: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The gate gives the webhook's four answers; an index pinned with only its platforms signed is denied
    with the remedy (the gate reads the manifest, so it knows the pin is an index)."""
    from tests.cli import run_cli

    images, _srv, _pki = multi_arch
    reg = images.reg
    children_index, children_amd64, _arm, children_repo = images.children_only
    config = tmp_path / "verifier.yaml"
    config.write_text(f"signers: {{key: {images.key}}}\n")
    cases = [
        (reg.ref(images.repo, images.index), 0),
        (reg.ref(images.repo, images.amd64), 1),
        (reg.ref(children_repo, children_index), 1),
        (reg.ref(children_repo, children_amd64), 0),
    ]
    for image, code in cases:
        run = run_cli(capsys, "gate", "--config", str(config), "--image", image, "--format", "json")
        assert run.code == code, (image, run.out, run.err)
    run = run_cli(
        capsys, "gate", "--config", str(config), "--image", cases[2][0], "--format", "json"
    )
    [finding] = json.loads(run.out)["results"][0]["findings"]
    assert (
        "it is an index" in finding["message"] and "cosign sign --recursive" in finding["message"]
    )
