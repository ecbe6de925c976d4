"""The webhook with the real signature check against a real registry (Debian docker-registry on 127.0.0.1).

Images are pushed and signed here with THROWAWAY keys (legacy cosign ``.sig``, ECDSA P-256, no tlog), the
webhook is built by the command's own :func:`build_decider` from a ``verifier.yaml`` and served over TLS,
and an apiserver-like client sends AdmissionReviews made from the real connaisseur Pod request with the
images swapped in. The last test stops the registry (SIGSTOP: accepts, never answers; then killed) and
checks that the webhook denies within the deadline instead of hanging.
"""

from __future__ import annotations

import base64
import copy
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import UPSTREAM
from tests.integration.conftest import (  # noqa: F401 - fixtures used by name
    LocalRegistry,
    _start_registry,
    auth_registry,
    registry,
)
from tests.integration.webhook_support import ApiserverClient, Pki, ServerThread, make_pki
from verifier.adapters.commands.webhook import build_decider
from verifier.adapters.webhook import Metrics, create_app

pytestmark = pytest.mark.registry

SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
POD = json.loads((UPSTREAM / "admission" / "connaisseur-v3" / "02_pod.json").read_bytes())
DEBUG = json.loads(
    (UPSTREAM / "admission" / "derived" / "pod_ephemeralcontainers_update_v1.json").read_bytes()
)


def _key(directory: Path, name: str) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    (directory / f"{name}.pub").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return key


def _sign(reg: LocalRegistry, repo: str, digest: str, key: ec.EllipticCurvePrivateKey) -> None:
    payload = json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": f"{reg.host}/{repo}"},
                "image": {"docker-manifest-digest": digest},
                "type": "cosign container image signature",
            },
            "optional": None,
        },
        separators=(",", ":"),
    ).encode()
    sig = base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()
    reg.attach_legacy(
        repo, digest, [(payload, SIMPLESIGNING, {"dev.cosignproject.cosign/signature": sig})]
    )


def _config(directory: Path, verify_timeout: float = 6.0) -> Path:
    path = directory / "verifier.yaml"
    path.write_text(
        "version: 1\n"
        "signers:\n  key: good.pub\n"
        "webhook:\n"
        "  mode: enforce\n"
        "  exempt_namespaces: [kube-system]\n"
        f"  verify_timeout_seconds: {verify_timeout}\n"
        "  failure_ttl_seconds: 0\n"
    )
    return path


def _pod(containers: list[str], init: list[str] | None = None, uid: str = "pod-1") -> bytes:
    doc = copy.deepcopy(POD)
    doc["request"]["uid"] = uid
    spec = doc["request"]["object"]["spec"]
    template = spec["containers"][0]
    spec["containers"] = [
        {**template, "name": f"c{i}", "image": img} for i, img in enumerate(containers)
    ]
    if init:
        spec["initContainers"] = [
            {**template, "name": f"i{i}", "image": img} for i, img in enumerate(init)
        ]
    return json.dumps(doc).encode()


def _debug(base_image: str, debug_image: str) -> bytes:
    doc = copy.deepcopy(DEBUG)
    for obj in (doc["request"]["object"], doc["request"]["oldObject"]):
        obj["spec"]["containers"][0]["image"] = base_image
    doc["request"]["object"]["spec"]["ephemeralContainers"][0]["image"] = debug_image
    return json.dumps(doc).encode()


class Images:
    """Images in the registry: signed by ``good``, signed by ``other``, unsigned."""

    def __init__(self, reg: LocalRegistry, directory: Path) -> None:
        good, other = _key(directory, "good"), _key(directory, "other")
        self.repo = reg.new_repo("webhook")
        self.signed_digest, _ = reg.push_image(self.repo, "signed")
        _sign(reg, self.repo, self.signed_digest, good)
        wrong, _ = reg.push_image(self.repo, "wrong")
        _sign(reg, self.repo, wrong, other)
        unsigned, _ = reg.push_image(self.repo, "unsigned")
        self.signed = reg.ref(self.repo, self.signed_digest)
        self.wrong_signer = reg.ref(self.repo, wrong)
        self.unsigned = reg.ref(self.repo, unsigned)
        self.tag_only = reg.ref(self.repo, "signed")


@pytest.fixture(scope="module")
def setup(
    registry: LocalRegistry,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Images, ServerThread, Pki]]:
    d = tmp_path_factory.mktemp("webhook-registry")
    images = Images(registry, d)
    pki = make_pki(d)
    decider = build_decider(_config(d))
    srv = ServerThread(create_app(decider), pki).start()
    try:
        yield images, srv, pki
    finally:
        srv.stop()


@pytest.fixture
def client(setup: tuple[Images, ServerThread, Pki]) -> Iterator[ApiserverClient]:
    _images, srv, pki = setup
    with ApiserverClient(srv.port, pki.ca_file) as c:
        yield c


def _review(client: ApiserverClient, body: bytes) -> dict[str, Any]:
    answer = client.review(body)
    assert answer.status == 200 and answer.response is not None
    return answer.response


def test_signed_image_is_admitted(setup: Any, client: ApiserverClient) -> None:
    images = setup[0]
    response = _review(client, _pod([images.signed]))
    assert response["allowed"] is True, response


def test_unsigned_image_is_denied(setup: Any, client: ApiserverClient) -> None:
    images = setup[0]
    response = _review(client, _pod([images.unsigned]))
    assert response["allowed"] is False
    assert (
        f"{images.unsigned}: not signed by a trusted signer (no-signature)"
        in response["status"]["message"]
    )


def test_wrong_signer_is_denied(setup: Any, client: ApiserverClient) -> None:
    images = setup[0]
    response = _review(client, _pod([images.wrong_signer]))
    assert response["allowed"] is False
    assert "not signed by a trusted signer (key-mismatch)" in response["status"]["message"]


def test_tag_only_is_denied_with_the_digest_to_use(setup: Any, client: ApiserverClient) -> None:
    images = setup[0]
    response = _review(client, _pod([images.tag_only]))
    assert response["allowed"] is False
    message = response["status"]["message"]
    assert f"image is not pinned by digest; use {images.signed}" in message


def test_one_bad_image_among_three(setup: Any, client: ApiserverClient) -> None:
    images = setup[0]
    response = _review(client, _pod([images.signed, images.unsigned, images.signed]))
    assert response["allowed"] is False
    message = response["status"]["message"]
    assert f"spec.containers[1] ({images.unsigned})" in message
    assert "spec.containers[0]" not in message and "spec.containers[2]" not in message


def test_bad_init_container_is_denied(setup: Any, client: ApiserverClient) -> None:
    images = setup[0]
    response = _review(client, _pod([images.signed], init=[images.wrong_signer]))
    assert response["allowed"] is False
    assert f"spec.initContainers[0] ({images.wrong_signer})" in response["status"]["message"]


def test_kubectl_debug_with_bad_image_is_denied(setup: Any, client: ApiserverClient) -> None:
    images = setup[0]
    response = _review(client, _debug(images.signed, images.unsigned))
    assert response["allowed"] is False
    assert f"spec.ephemeralContainers[0] ({images.unsigned})" in response["status"]["message"]
    # ...and with a signed debug image it is admitted (the running container is not re-checked).
    response = _review(client, _debug(images.unsigned, images.signed))
    assert response["allowed"] is True, response


def test_registry_stopped_mid_test_denies_within_the_deadline(tmp_path: Path) -> None:
    reg = _start_registry(tmp_path / "reg", htpasswd=None)
    try:
        images = Images(reg, tmp_path)
        pki = make_pki(tmp_path)
        metrics = Metrics()
        decider = build_decider(_config(tmp_path, verify_timeout=3.0), events=metrics.event)
        srv = ServerThread(create_app(decider, metrics_=metrics), pki).start()
        try:
            with ApiserverClient(srv.port, pki.ca_file, timeout=4) as c:
                assert _review(c, _pod([images.signed], uid="before"))["allowed"] is True
                reg.process.send_signal(signal.SIGSTOP)  # accepts connections, never answers
                try:
                    start = time.monotonic()
                    answer = c.review(_pod([images.unsigned], uid="frozen"), timeout_param="4s")
                    frozen = time.monotonic() - start
                finally:
                    reg.process.send_signal(signal.SIGCONT)
                reg.process.kill()
                reg.process.wait(timeout=10)
                start = time.monotonic()
                down = c.review(_pod([images.wrong_signer], uid="down"), timeout_param="4s")
                gone = time.monotonic() - start
                # The image verified before the outage stays admitted from the cache.
                cached = _review(c, _pod([images.signed], uid="cached"))
                metrics_text = c.get("/metrics").text
        finally:
            srv.stop()
    finally:
        reg.close()
    assert answer.response is not None and answer.response["allowed"] is False
    assert frozen < 4.0, frozen
    assert down.response is not None and down.response["allowed"] is False
    assert "could not be verified" in down.response["status"]["message"]
    assert gone < 4.0, gone
    assert cached["allowed"] is True
    assert 'verifier_webhook_registry_errors_total{kind="error"}' in metrics_text


def test_sbom_attestation_is_required_when_the_config_asks(
    registry: LocalRegistry,
    tmp_path: Path,
) -> None:
    """``sbom: {required: true}`` in verifier.yaml: the webhook also runs the sbom-attestation check."""
    from tests.integration.test_sbom_registry import (
        SPDX_DOC,
        SPDX_PT,
        attach_att,
        envelope,
        statement,
    )

    good = _key(tmp_path, "good")
    repo = registry.new_repo("webhook-sbom")
    with_sbom, _ = registry.push_image(repo, "with")
    _sign(registry, repo, with_sbom, good)
    attach_att(
        registry,
        repo,
        with_sbom,
        envelope(statement(SPDX_DOC, SPDX_PT, with_sbom), key=good),
        SPDX_PT,
    )
    without, _ = registry.push_image(repo, "without")
    _sign(registry, repo, without, good)
    cfg = _config(tmp_path)
    cfg.write_text(cfg.read_text().replace("webhook:\n", "sbom:\n  required: true\nwebhook:\n"))
    pki = make_pki(tmp_path)
    srv = ServerThread(create_app(build_decider(cfg)), pki).start()
    try:
        with ApiserverClient(srv.port, pki.ca_file) as c:
            ok = _review(c, _pod([registry.ref(repo, with_sbom)], uid="sbom-ok"))
            missing = _review(c, _pod([registry.ref(repo, without)], uid="sbom-missing"))
    finally:
        srv.stop()
    assert ok["allowed"] is True, ok
    assert missing["allowed"] is False
    assert "no verified SBOM attestation" in missing["status"]["message"]


def test_registry_credentials_from_a_mounted_docker_config(
    auth_registry: LocalRegistry,
    tmp_path: Path,
) -> None:
    """An htpasswd registry: admitted with ``--docker-config``, denied (not hung) without credentials."""
    good = _key(tmp_path, "good")
    repo = auth_registry.new_repo("webhook-auth")
    digest, _ = auth_registry.push_image(repo, "v1")
    _sign(auth_registry, repo, digest, good)
    cfg = _config(tmp_path)
    pki = make_pki(tmp_path)
    body = _pod([auth_registry.ref(repo, digest)], uid="auth")
    answers = []
    for docker_config in (auth_registry.docker_config, tmp_path / "empty-docker-config.json"):
        assert docker_config is not None
        if not docker_config.exists():
            docker_config.write_text('{"auths": {}}')
        srv = ServerThread(create_app(build_decider(cfg, docker_config=docker_config)), pki).start()
        try:
            with ApiserverClient(srv.port, pki.ca_file) as c:
                answers.append(_review(c, body))
        finally:
            srv.stop()
    assert answers[0]["allowed"] is True, answers[0]
    assert answers[1]["allowed"] is False
    assert "could not be verified" in answers[1]["status"]["message"]
