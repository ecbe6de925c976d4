"""cosign's simplesigning payload rebuilt from the image reference, and when a ``.sig`` layer is known by it.

The construction must equal what cosign writes byte for byte, or it never matches and every payload is
downloaded as before (slower, never wrong). The real signatures here were made by cosign and copied by
containers/image (tests/assets/upstream/containers-image, see its SOURCES.md).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from verifier.sources.image import cosign_references
from verifier.sources.oci_common import (
    SIMPLESIGNING,
    Descriptor,
    compute_digest,
    cosign_payload,
    known_payload,
)

ASSETS = Path(__file__).parents[2] / "assets" / "upstream" / "containers-image" / "fixtures"
D = "sha256:" + "a" * 64
PREFIX = b"\x00sigstore-json\n"


def _real_payloads() -> list[bytes]:
    found: dict[bytes, None] = {}
    for path in sorted(ASSETS.glob("*/signature-*")):
        raw = path.read_bytes()
        assert raw.startswith(PREFIX), path
        doc = json.loads(raw[len(PREFIX) :])
        if doc["mimeType"] == SIMPLESIGNING:  # one fixture is a text/plain attachment
            found[base64.b64decode(doc["payload"])] = None
    return list(found)


REAL = _real_payloads()


def _layer(
    payload: bytes, media_type: str = SIMPLESIGNING, algorithm: str = "sha256"
) -> Descriptor:
    return Descriptor(
        media_type=media_type, digest=compute_digest(payload, algorithm), size=len(payload)
    )


def test_the_assets_hold_cosign_and_containers_image_payloads() -> None:
    assert len(REAL) >= 5
    optional = [json.loads(p)["optional"] for p in REAL]
    assert None in optional  # cosign sign without annotations
    assert any(
        isinstance(o, dict) and o for o in optional
    )  # skopeo/podman add creator and timestamp


@pytest.mark.parametrize("payload", REAL, ids=[f"real-{i}" for i in range(len(REAL))])
def test_rebuilt_payload_equals_real_cosign_output_byte_for_byte(payload: bytes) -> None:
    doc = json.loads(payload)
    reference = doc["critical"]["identity"]["docker-reference"]
    digest = doc["critical"]["image"]["docker-manifest-digest"]
    rebuilt = cosign_payload(reference, digest)
    if doc["optional"] is None:
        assert rebuilt == payload
        assert known_payload(_layer(payload), digest, (reference,)) == payload
    else:  # annotations cannot be guessed: such a layer is downloaded
        assert rebuilt != payload
        assert known_payload(_layer(payload), digest, (reference,)) is None


def test_only_the_digest_being_verified_is_ever_rebuilt() -> None:
    """A layer signing another image's digest is not "known" for this one (it is fetched, and the
    signature check then finds the digest mismatch)."""
    other = "sha256:" + "b" * 64
    payload = cosign_payload("r.test/app", other)
    assert known_payload(_layer(payload), D, ("r.test/app",)) is None
    assert known_payload(_layer(payload), other, ("r.test/app",)) == payload


def test_another_reference_or_media_type_is_not_known() -> None:
    payload = cosign_payload("r.test/app", D)
    assert known_payload(_layer(payload), D, ("r.test/other",)) is None
    assert known_payload(_layer(payload), D, ()) is None
    assert known_payload(_layer(payload, media_type="application/json"), D, ("r.test/app",)) is None
    # The second name matches.
    assert known_payload(_layer(payload), D, ("r.test/other", "r.test/app")) == payload


def test_size_must_match_as_well_as_the_digest() -> None:
    payload = cosign_payload("r.test/app", D)
    layer = Descriptor(
        media_type=SIMPLESIGNING, digest=compute_digest(payload), size=len(payload) + 1
    )
    assert known_payload(layer, D, ("r.test/app",)) is None


def test_sha512_descriptors_are_hashed_with_sha512() -> None:
    payload = cosign_payload("r.test/app", D)
    assert known_payload(_layer(payload, algorithm="sha512"), D, ("r.test/app",)) == payload


@pytest.mark.parametrize(
    ("registry", "repository", "expected"),
    [
        ("ghcr.io", "org/app", ("ghcr.io/org/app",)),
        ("127.0.0.1:5000", "demo/hello", ("127.0.0.1:5000/demo/hello",)),
        # go-containerregistry names Docker Hub "index.docker.io"; cosign signs that name.
        (
            "docker.io",
            "library/busybox",
            ("index.docker.io/library/busybox", "docker.io/library/busybox"),
        ),
    ],
)
def test_cosign_references(registry: str, repository: str, expected: tuple[str, ...]) -> None:
    assert cosign_references(registry, repository) == expected
