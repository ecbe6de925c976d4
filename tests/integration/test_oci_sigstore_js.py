"""An independent signer: sigstore-js (@sigstore/sign + @sigstore/oci from npm) signs a DSSE bundle with a
local throwaway key and attaches it to the htpasswd registry as a cosign-v3-style referrer; we collect it.

Needs node and `npm ci` in tests/sigstore-js (CI does this); without them the test FAILS.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.integration.conftest import BUNDLE_V03, LocalRegistry
from verifier.sources.image import collect_image_evidence
from verifier.sources.oci_common import compute_digest

pytestmark = pytest.mark.registry

JS_DIR = Path(__file__).resolve().parents[1] / "sigstore-js"
COSIGN_SIGN_V1 = "https://sigstore.dev/cosign/sign/v1"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (apt-get install -y nodejs npm)", pytrace=False)
    if not (JS_DIR / "node_modules" / "@sigstore" / "oci").is_dir():
        pytest.fail(f"sigstore-js is not installed: run `npm ci` in {JS_DIR}", pytrace=False)
    return node


def _sign(
    registry: LocalRegistry, repo: str, digest: str, key: Path, predicate_type: str
) -> dict[str, str]:
    assert registry.credentials is not None
    env = dict(
        os.environ,
        REGISTRY_USERNAME=registry.credentials.username,
        REGISTRY_PASSWORD=registry.credentials.password,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    proc = subprocess.run(
        [_node(), str(JS_DIR / "sign.mjs"), registry.host, repo, digest, str(key), predicate_type],
        capture_output=True,
        timeout=60,
        env=env,
        cwd=JS_DIR,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    out: dict[str, str] = json.loads(proc.stdout)
    return out


@pytest.fixture(scope="module")
def throwaway_key(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, ec.EllipticCurvePublicKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path_factory.mktemp("js-key") / "throwaway.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path, key.public_key()


def test_sigstore_js_referrers_are_collected(
    auth_registry: LocalRegistry, throwaway_key: tuple[Path, ec.EllipticCurvePublicKey]
) -> None:
    key_path, public_key = throwaway_key
    repo = auth_registry.new_repo("js")
    digest, _ = auth_registry.push_image(repo, "v1")
    signed = _sign(auth_registry, repo, digest, key_path, COSIGN_SIGN_V1)
    sbom = _sign(auth_registry, repo, digest, key_path, "https://spdx.dev/Document")

    ev = collect_image_evidence(
        auth_registry.ref(repo, "v1"), docker_config=auth_registry.docker_config
    )
    assert ev.digest == digest
    assert ev.problems == ()
    by_type = {r.annotations["dev.sigstore.bundle.predicateType"]: r for r in ev.referrers}
    assert set(by_type) == {COSIGN_SIGN_V1, "https://spdx.dev/Document"}
    for predicate_type, out in ((COSIGN_SIGN_V1, signed), ("https://spdx.dev/Document", sbom)):
        ref = by_type[predicate_type]
        # Exactly the bytes sigstore-js attached, under the manifest digest it reported.
        assert ref.bundle == out["bundle"].encode()
        assert ref.manifest_digest == out["descriptor"]["digest"]  # type: ignore[index]
        assert ref.artifact_type == BUNDLE_V03 == json.loads(ref.bundle)["mediaType"]
        assert ref.layer_digest == compute_digest(ref.bundle)
        # Independent cross-check that the bundle is what we think: DSSE PAE signed by the throwaway key,
        # statement subject = the image digest.
        env = json.loads(ref.bundle)["dsseEnvelope"]
        payload = base64.b64decode(env["payload"])
        t = env["payloadType"].encode()
        pae = b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)
        public_key.verify(
            base64.b64decode(env["signatures"][0]["sig"]), pae, ec.ECDSA(hashes.SHA256())
        )
        assert json.loads(payload)["subject"][0]["digest"]["sha256"] == digest.split(":", 1)[1]


def test_sigstore_js_referrer_on_another_image_is_not_collected(
    auth_registry: LocalRegistry, throwaway_key: tuple[Path, ec.EllipticCurvePublicKey]
) -> None:
    repo = auth_registry.new_repo("js")
    signed_digest, _ = auth_registry.push_image(repo, "signed")
    other_digest, _ = auth_registry.push_image(repo, "other")
    _sign(auth_registry, repo, signed_digest, throwaway_key[0], COSIGN_SIGN_V1)
    ev = collect_image_evidence(
        auth_registry.ref(repo, "other"), docker_config=auth_registry.docker_config
    )
    assert ev.digest == other_digest
    assert ev.referrers == ()
