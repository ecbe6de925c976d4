"""The shipped demo layouts regenerate byte-for-byte, and their throwaway-key signatures really verify.

The cryptographic checks here are a minimal independent cross-check of the demo data with `cryptography`
(ECDSA over the simplesigning payload, DSSE PAE), not the product's verifier.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from verifier.sources.image import collect_image_evidence

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "fixtures" / "demo"


def _pub() -> ec.EllipticCurvePublicKey:
    key = serialization.load_pem_public_key((DEMO / "keys" / "throwaway-cosign.pub").read_bytes())
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def _verifies(data: bytes, sig_b64: str) -> bool:
    try:
        _pub().verify(base64.b64decode(sig_b64), data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def _pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def test_make_demo_check_passes_on_the_committed_layouts() -> None:
    proc = subprocess.run(
        [sys.executable, str(DEMO / "make_demo.py"), "--check"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()


def test_make_demo_check_detects_a_changed_layout(tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "demo"
    shutil.copytree(DEMO, copy)
    index = copy / "throwaway-key" / "index.json"
    index.write_bytes(index.read_bytes().replace(b'"latest"', b'"latest2"'))
    proc = subprocess.run(
        [sys.executable, str(copy / "make_demo.py"), "--check"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert b"throwaway-key" in proc.stderr


def test_throwaway_legacy_signature_verifies_with_the_public_key() -> None:
    ev = collect_image_evidence(f"oci-layout:{DEMO / 'throwaway-key'}")
    sig = ev.signatures[0]
    payload = json.loads(sig.payload)
    assert payload["critical"]["image"]["docker-manifest-digest"] == ev.digest
    assert payload["critical"]["type"] == "cosign container image signature"
    assert _verifies(sig.payload, sig.annotations["dev.cosignproject.cosign/signature"])
    assert not _verifies(sig.payload + b" ", sig.annotations["dev.cosignproject.cosign/signature"])


def test_throwaway_dsse_attestation_and_bundles_verify_and_bind_the_digest() -> None:
    ev = collect_image_evidence(f"oci-layout:{DEMO / 'throwaway-key'}")
    envelopes = [json.loads(a.envelope) for a in ev.attestations]
    envelopes += [json.loads(r.bundle)["dsseEnvelope"] for r in ev.referrers]
    assert len(envelopes) == 3
    for env in envelopes:
        statement = base64.b64decode(env["payload"])
        assert _verifies(_pae(env["payloadType"], statement), env["signatures"][0]["sig"])
        subject = json.loads(statement)["subject"]
        assert subject[0]["digest"]["sha256"] == ev.digest.split(":", 1)[1]


def test_keyless_payload_binds_the_real_manifest_digest() -> None:
    ev = collect_image_evidence(f"oci-layout:{DEMO / 'keyless-real'}")
    payload = json.loads(ev.signatures[0].payload)
    assert payload["critical"]["image"]["docker-manifest-digest"] == ev.digest
    assert (
        payload["critical"]["identity"]["docker-reference"]
        == "192.168.64.2:5000/cosign-signed/fulcio-rekor-1"
    )
