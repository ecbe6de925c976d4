"""Shared helpers for the sigstore tests: the vendored containers/image fixtures and in-test signers."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from verifier.models.evidence import SignatureLayer

ASSETS = Path(__file__).parents[2] / "assets"
CIMG = ASSETS / "upstream" / "containers-image" / "fixtures"
CONFORMANCE = ASSETS / "upstream" / "sigstore-conformance" / "bundle-verify"
SIGNATURE_ASSETS = ASSETS / "signature"
SIGSTORE_JSON_PREFIX = b"\x00sigstore-json\n"


@dataclass(frozen=True)
class FixtureSignature:
    """One containers/image ``signature-N`` file: a cosign layer (payload, media type, annotations)."""

    name: str
    payload: bytes
    media_type: str
    annotations: dict[str, str]

    def layer(self) -> SignatureLayer:
        return SignatureLayer(
            payload=self.payload, media_type=self.media_type, annotations=self.annotations
        )


def fixture_signatures(directory: Path) -> Iterator[FixtureSignature]:
    for path in sorted(directory.glob("signature-*")):
        raw = path.read_bytes()
        assert raw.startswith(SIGSTORE_JSON_PREFIX)
        doc = json.loads(raw[len(SIGSTORE_JSON_PREFIX) :])
        yield FixtureSignature(
            path.name, base64.b64decode(doc["payload"]), doc["mimeType"], doc.get("annotations", {})
        )


def manifest_digest(directory: Path) -> str:
    return "sha256:" + hashlib.sha256((directory / "manifest.json").read_bytes()).hexdigest()


def simplesigning(digest: str, ref: str = "registry.test/app") -> bytes:
    doc = {
        "critical": {
            "identity": {"docker-reference": ref},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": None,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


def sign(key: PrivateKey, data: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    algo: hashes.HashAlgorithm = (
        hashes.SHA384() if key.curve.name == "secp384r1" else hashes.SHA256()
    )
    return key.sign(data, ec.ECDSA(algo))


def key_signed_layer(key: PrivateKey, digest: str) -> SignatureLayer:
    payload = simplesigning(digest)
    sig = base64.b64encode(sign(key, payload)).decode()
    return SignatureLayer(
        payload=payload,
        media_type="application/vnd.dev.cosign.simplesigning.v1+json",
        annotations={"dev.cosignproject.cosign/signature": sig},
    )
