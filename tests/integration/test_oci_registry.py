"""Evidence collection against a real registry (Debian docker-registry 2.8.2 on 127.0.0.1).

Images and signatures are pushed by the tests; tamper cases alter the registry's filesystem storage directly,
so the registry itself serves the altered bytes (with a Docker-Content-Digest header that still claims the
requested digest).
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import BUNDLE_V03, OCI_MANIFEST, LocalRegistry, canonical
from verifier.errors import NetworkError, SourceError, VerifierError
from verifier.sources.image import collect_image_evidence
from verifier.sources.oci_common import (
    DSSE_ENVELOPE,
    SIMPLESIGNING,
    ContentTooLargeError,
    DigestMismatchError,
    Limits,
    ManifestNotFoundError,
    RegistryAuthError,
    SizeMismatchError,
    compute_digest,
    cosign_payload,
)
from verifier.sources.oci_registry import RegistryClient

pytestmark = pytest.mark.registry

DUMP = Path(__file__).parent.parent / "assets" / "oci" / "registry-dump" / "demo_hello"
DUMP_IMAGE = "sha256:ae2b469e5b5dd7c959c86ee339c8b56eebea9e5084de1cf0fd93324e34754407"


def _payload(digest: str) -> bytes:
    return canonical(
        {
            "critical": {
                "identity": {"docker-reference": "x"},
                "image": {"docker-manifest-digest": digest},
                "type": "cosign container image signature",
            },
            "optional": None,
        }
    )


def _signed(registry: LocalRegistry, repo: str) -> tuple[str, bytes, str]:
    digest, raw = registry.push_image(repo, "v1")
    sig_manifest = registry.attach_legacy(
        repo,
        digest,
        [(_payload(digest), SIMPLESIGNING, {"dev.cosignproject.cosign/signature": "c2ln"})],
    )
    return digest, raw, sig_manifest


# ------------------------------------------------------------------------------------------- happy paths


def test_tag_is_resolved_once_to_the_digest_of_the_served_manifest(registry: LocalRegistry) -> None:
    repo = registry.new_repo()
    digest, raw = registry.push_image(repo, "v1")
    ev = collect_image_evidence(registry.ref(repo, "v1"))
    assert ev.digest == digest == compute_digest(raw)
    assert ev.source == "registry"
    assert ev.media_type == OCI_MANIFEST
    assert ev.signatures == () and ev.referrers == () and ev.problems == ()
    # Moving the tag afterwards changes nothing for a digest reference.
    registry.push_image(repo, "v1")
    assert collect_image_evidence(registry.ref(repo, digest)).digest == digest


def test_legacy_sig_and_att_layers_are_collected_byte_for_byte(registry: LocalRegistry) -> None:
    repo = registry.new_repo()
    digest, _, sig_manifest = _signed(registry, repo)
    envelope = canonical(
        {"payloadType": "application/vnd.in-toto+json", "payload": "e30=", "signatures": []}
    )
    att_manifest = registry.attach_legacy(
        repo,
        digest,
        [(envelope, DSSE_ENVELOPE, {"predicateType": "https://cyclonedx.org/bom"})],
        ".att",
    )
    ev = collect_image_evidence(registry.ref(repo, "v1"))
    assert [s.payload for s in ev.signatures] == [_payload(digest)]
    sig = ev.signatures[0]
    assert sig.media_type == SIMPLESIGNING
    assert sig.annotations == {"dev.cosignproject.cosign/signature": "c2ln"}
    assert sig.manifest_digest == sig_manifest
    assert sig.layer_digest == compute_digest(_payload(digest))
    assert [a.envelope for a in ev.attestations] == [envelope]
    assert ev.attestations[0].annotations["predicateType"] == "https://cyclonedx.org/bom"
    assert ev.attestations[0].manifest_digest == att_manifest


def test_docker_v2_media_types_are_accepted(registry: LocalRegistry) -> None:
    repo = registry.new_repo()
    digest, _ = registry.push_image(repo, "v1", docker_media_types=True)
    ev = collect_image_evidence(registry.ref(repo, "v1"))
    assert ev.digest == digest
    assert ev.media_type == "application/vnd.docker.distribution.manifest.v2+json"


def test_referrers_via_tag_schema_index(registry: LocalRegistry) -> None:
    repo = registry.new_repo()
    digest, raw = registry.push_image(repo, "v1")
    bundle = canonical({"mediaType": BUNDLE_V03, "dsseEnvelope": {}})
    ref_digest = registry.attach_referrer(
        repo,
        digest,
        len(raw),
        bundle,
        annotations={"dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1"},
    )
    # An SBOM attached by another tool is listed but not collected as a bundle.
    registry.attach_referrer(
        repo, digest, len(raw), b'{"spdxVersion":"SPDX-2.3"}', artifact_type="application/spdx+json"
    )
    ev = collect_image_evidence(registry.ref(repo, digest))
    assert len(ev.referrers) == 1
    r = ev.referrers[0]
    assert r.bundle == bundle
    assert r.artifact_type == BUNDLE_V03
    assert r.manifest_digest == ref_digest
    assert (
        r.annotations["dev.sigstore.bundle.predicateType"] == "https://sigstore.dev/cosign/sign/v1"
    )
    assert len(ev.other_referrers) == 1 and ev.other_referrers[0].endswith("application/spdx+json")
    assert ev.problems == ()


def test_referrer_for_another_image_is_reported_not_collected(registry: LocalRegistry) -> None:
    repo = registry.new_repo()
    digest, raw = registry.push_image(repo, "v1")
    other, other_raw = registry.push_image(repo, "v2")
    # A referrer whose subject is `other`, listed in `digest`'s tag-schema index (a copied signature).
    ref_digest = registry.attach_referrer(
        repo, other, len(other_raw), b'{"x":1}', update_tag_index=False
    )
    registry.add_to_tag_index(
        repo,
        digest,
        {
            "mediaType": OCI_MANIFEST,
            "digest": ref_digest,
            "size": len(registry.client().get_manifest(repo, ref_digest).raw),
            "artifactType": BUNDLE_V03,
        },
    )
    ev = collect_image_evidence(registry.ref(repo, digest))
    assert ev.referrers == ()
    assert len(ev.problems) == 1
    assert f"its subject is {other}, not {digest}" in ev.problems[0]


def test_replay_of_real_sigstore_js_registry_dump(registry: LocalRegistry) -> None:
    """The exact bytes from a registry that sigstore-js and our signer wrote (see tests/assets/oci/...)."""
    repo = registry.new_repo("demo")
    client = registry.client()
    for blob in sorted((DUMP / "blobs" / "sha256").iterdir()):
        client.push_blob(repo, blob.read_bytes())
    # Referrer manifests first (by digest), then the image, the index and the legacy tags.
    metas = sorted(
        DUMP.glob("manifests/*.meta"),
        key=lambda p: (
            not p.name.startswith("sha256-0") and not p.name.startswith("sha256-c"),
            p.name,
        ),
    )
    for meta_path in metas:
        meta = json.loads(meta_path.read_text())
        raw = meta_path.with_suffix(".json").read_bytes()
        assert client.push_manifest(repo, meta["ref"], raw, meta["contentType"]) == meta["digest"]
    ev = collect_image_evidence(registry.ref(repo, "v1"))
    assert ev.digest == DUMP_IMAGE
    assert len(ev.signatures) == 1 and len(ev.attestations) == 1
    assert (
        ev.signatures[0].payload
        == (DUMP / "blobs/sha256" / ev.signatures[0].layer_digest[7:]).read_bytes()
    )
    predicate_types = sorted(
        r.annotations["dev.sigstore.bundle.predicateType"] for r in ev.referrers
    )
    assert predicate_types == ["https://sigstore.dev/cosign/sign/v1", "https://spdx.dev/Document"]
    for r in ev.referrers:
        assert json.loads(r.bundle)["mediaType"] == BUNDLE_V03
        assert compute_digest(r.bundle) == r.layer_digest
    assert ev.problems == ()


def test_alternate_signature_repository(registry: LocalRegistry) -> None:
    repo, sig_repo = registry.new_repo(), registry.new_repo("sigs")
    digest, _ = registry.push_image(repo, "v1")
    registry.attach_legacy(sig_repo, digest, [(_payload(digest), SIMPLESIGNING, {})])
    assert collect_image_evidence(registry.ref(repo, "v1")).signatures == ()
    ev = collect_image_evidence(
        registry.ref(repo, "v1"), signature_repo=f"{registry.host}/{sig_repo}"
    )
    assert ev.digest == digest
    assert [s.payload for s in ev.signatures] == [_payload(digest)]
    assert ev.signature_repo == f"{registry.host}/{sig_repo}"


def test_layer_count_cap_truncates_and_reports(registry: LocalRegistry) -> None:
    repo = registry.new_repo()
    digest, _ = registry.push_image(repo, "v1")
    registry.attach_legacy(
        repo, digest, [(_payload(digest) + b" " * i, SIMPLESIGNING, {}) for i in range(5)]
    )
    ev = collect_image_evidence(registry.ref(repo, "v1"), limits=Limits(layers=2))
    assert len(ev.signatures) == 2
    assert any("5 entries, only the first 2" in p for p in ev.problems)


# ------------------------------------------------------------------------------------------- auth


def test_htpasswd_registry_needs_credentials(auth_registry: LocalRegistry) -> None:
    repo = auth_registry.new_repo()
    digest, _ = auth_registry.push_image(repo, "v1")
    with pytest.raises(RegistryAuthError, match="requires a username and password"):
        collect_image_evidence(auth_registry.ref(repo, "v1"))
    ev = collect_image_evidence(
        auth_registry.ref(repo, "v1"), docker_config=auth_registry.docker_config
    )
    assert ev.digest == digest


def test_htpasswd_registry_rejects_a_wrong_password(
    auth_registry: LocalRegistry, tmp_path: Path
) -> None:
    repo = auth_registry.new_repo()
    auth_registry.push_image(repo, "v1")
    cfg = tmp_path / "config.json"
    bad = base64.b64encode(b"verifier:wrong-password").decode()
    cfg.write_text(json.dumps({"auths": {f"http://{auth_registry.host}": {"auth": bad}}}))
    with pytest.raises(RegistryAuthError, match="denied"):
        collect_image_evidence(auth_registry.ref(repo, "v1"), docker_config=cfg)


# ------------------------------------------------------------------------------------------- tampering


def test_blob_altered_in_storage_is_a_digest_mismatch(registry: LocalRegistry) -> None:
    repo = registry.new_repo()
    digest, _, _ = _signed(registry, repo)
    path = registry.blob_data_path(compute_digest(_payload(digest)))
    data = path.read_bytes()
    path.write_bytes(data.replace(digest[7:15].encode(), b"00000000"))  # same length, other content
    with pytest.raises(DigestMismatchError, match="hashes to sha256:") as info:
        collect_image_evidence(registry.ref(repo, digest))
    assert info.value.expected == compute_digest(data)
    assert info.value.exit_code == 3


def test_truncated_blob_is_a_size_mismatch(uncached_registry: LocalRegistry) -> None:
    registry = uncached_registry
    repo = registry.new_repo()
    digest, _, _ = _signed(registry, repo)
    path = registry.blob_data_path(compute_digest(_payload(digest)))
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(SizeMismatchError, match="got 20 bytes but its descriptor says"):
        collect_image_evidence(registry.ref(repo, digest))


def test_truncated_blob_behind_a_caching_registry_fails_closed(registry: LocalRegistry) -> None:
    """The packaged registry config caches blob descriptors: it announces the old length and the body stops
    short. That is a transfer error (exit 3), never a shorter payload taken as the blob."""
    repo = registry.new_repo()
    digest, _, _ = _signed(registry, repo)
    path = registry.blob_data_path(compute_digest(_payload(digest)))
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(VerifierError, match="bytes of the body missing") as info:
        collect_image_evidence(registry.ref(repo, digest))
    assert info.value.exit_code == 3


def test_manifest_altered_in_storage_is_refused_despite_docker_content_digest(
    registry: LocalRegistry,
) -> None:
    repo = registry.new_repo()
    digest, raw = registry.push_image(repo, "v1")
    registry.blob_data_path(digest).write_bytes(
        raw.replace(b'"amd64"', b'"arm64"') if b"amd64" in raw else raw.replace(b"}", b" }", 1)
    )
    # The registry still claims the requested digest in its header...
    r = httpx.get(
        f"{registry.url}/v2/{repo}/manifests/{digest}",
        headers={"Accept": OCI_MANIFEST},
        trust_env=False,
    )
    assert r.headers.get("docker-content-digest") == digest
    assert compute_digest(r.content) != digest
    # ...and we do not believe it.
    with pytest.raises(DigestMismatchError):
        collect_image_evidence(registry.ref(repo, digest))


def test_oversized_manifest_is_refused(registry: LocalRegistry) -> None:
    """distribution itself refuses to store or serve manifests over 4 MiB ("storage: read exceeds limit"),
    so the cap is exercised here with a 200 KB manifest against a 100 KB limit; the 4 MiB default is
    tested in tests/unit/sources/test_oci_registry_http.py with a server that streams 5 MiB."""
    repo = registry.new_repo()
    _, raw = registry.push_image(repo, "v1")
    doc = json.loads(raw)
    doc["annotations"] = {"padding": "x" * 200_000}
    big_digest, _ = registry.push_manifest(repo, "big", doc)
    with pytest.raises(ContentTooLargeError, match="over the limit of 100000 bytes"):
        collect_image_evidence(registry.ref(repo, "big"), limits=Limits(manifest_bytes=100_000))
    with pytest.raises(ContentTooLargeError):
        collect_image_evidence(
            registry.ref(repo, big_digest), limits=Limits(manifest_bytes=100_000)
        )
    assert collect_image_evidence(registry.ref(repo, "big")).digest == big_digest


def test_oversized_blob_is_refused_before_download(registry: LocalRegistry) -> None:
    repo = registry.new_repo()
    digest, _, _ = _signed(registry, repo)
    with pytest.raises(ContentTooLargeError, match="over the limit of 100 bytes"):
        collect_image_evidence(registry.ref(repo, digest), limits=Limits(blob_bytes=100))


def test_unknown_image_is_not_found(registry: LocalRegistry) -> None:
    repo = registry.new_repo()
    registry.push_image(repo, "v1")
    with pytest.raises(ManifestNotFoundError, match="not found"):
        collect_image_evidence(registry.ref(repo, "sha256:" + "0" * 64))
    with pytest.raises(ManifestNotFoundError):
        collect_image_evidence(registry.ref(repo, "nope"))


def test_absent_signature_blob_is_a_problem_not_a_crash(uncached_registry: LocalRegistry) -> None:
    registry = uncached_registry
    repo = registry.new_repo()
    digest, _, _ = _signed(registry, repo)
    registry.blob_data_path(compute_digest(_payload(digest))).unlink()
    ev = collect_image_evidence(registry.ref(repo, digest))
    assert ev.signatures == ()
    assert len(ev.problems) == 1 and "not found" in ev.problems[0]


# ------------------------------------------------------------------- payloads known by their digest


def _cosign_signed(registry: LocalRegistry, repo: str, reference: str) -> tuple[str, bytes]:
    digest, _ = registry.push_image(repo, "v1")
    payload = cosign_payload(reference, digest)
    registry.attach_legacy(
        repo, digest, [(payload, SIMPLESIGNING, {"dev.cosignproject.cosign/signature": "c2ln"})]
    )
    return digest, payload


def test_cosign_payload_of_this_image_is_not_downloaded(uncached_registry: LocalRegistry) -> None:
    """cosign's payload for this repository and digest hashes to the layer's digest, so it is that blob: the
    registry is not asked for it (shown by deleting it from the registry's storage)."""
    registry = uncached_registry
    repo = registry.new_repo()
    digest, payload = _cosign_signed(registry, repo, f"{registry.host}/{repo}")
    registry.blob_data_path(compute_digest(payload)).unlink()
    ev = collect_image_evidence(registry.ref(repo, digest))
    assert ev.problems == ()
    assert [s.payload for s in ev.signatures] == [payload]
    assert ev.signatures[0].layer_digest == compute_digest(payload)


def test_payload_naming_another_repository_is_downloaded(uncached_registry: LocalRegistry) -> None:
    """A payload that is not cosign's for this image (here: signed for another repository) is fetched and
    re-hashed as before, so a missing blob is still a problem, not a silent pass."""
    registry = uncached_registry
    repo = registry.new_repo()
    digest, payload = _cosign_signed(registry, repo, f"{registry.host}/elsewhere")
    ev = collect_image_evidence(registry.ref(repo, digest))
    assert [s.payload for s in ev.signatures] == [payload] and ev.problems == ()
    registry.blob_data_path(compute_digest(payload)).unlink()
    ev = collect_image_evidence(registry.ref(repo, digest))
    assert ev.signatures == ()
    assert len(ev.problems) == 1 and "not found" in ev.problems[0]


def test_payload_copied_from_another_image_is_downloaded_and_names_that_image(
    registry: LocalRegistry,
) -> None:
    """A signature layer moved from image A to image B: the payload for B's digest does not hash to the
    layer's digest, so the real blob is fetched, and it names A (which the signature check refuses)."""
    repo = registry.new_repo()
    a_digest, a_payload = _cosign_signed(registry, repo, f"{registry.host}/{repo}")
    b_digest, _ = registry.push_image(repo, "v2")
    assert b_digest != a_digest
    registry.attach_legacy(
        repo, b_digest, [(a_payload, SIMPLESIGNING, {"dev.cosignproject.cosign/signature": "c2ln"})]
    )
    ev = collect_image_evidence(registry.ref(repo, b_digest))
    assert [s.payload for s in ev.signatures] == [a_payload]
    assert (
        json.loads(ev.signatures[0].payload)["critical"]["image"]["docker-manifest-digest"]
        == a_digest
    )


# ------------------------------------------------------------------------------------------- network


def test_registry_down_is_a_network_error_fast() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    start = time.monotonic()
    with pytest.raises(NetworkError, match="unreachable") as info:
        collect_image_evidence(f"127.0.0.1:{port}/x/y:v1", timeout=2)
    assert time.monotonic() - start < 2
    assert info.value.exit_code == 3
    assert isinstance(info.value, SourceError)


def test_registry_that_never_answers_times_out() -> None:
    """A real socket that accepts connections and never writes a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        start = time.monotonic()
        with pytest.raises(NetworkError, match=r"no answer within 0.5s"):
            collect_image_evidence(f"127.0.0.1:{port}/x/y:v1", timeout=0.5)
        assert time.monotonic() - start < 3
    finally:
        stop.set()
        t.join()
        for c in held:
            c.close()
        server.close()


def test_client_push_and_get_roundtrip_by_digest(registry: LocalRegistry) -> None:
    repo = registry.new_repo()
    with RegistryClient(registry.host) as client:
        desc = client.push_blob(repo, b"hello")
        assert client.get_blob(repo, desc, "blob") == b"hello"
        manifest = canonical(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.oci.empty.v1+json",
                    "digest": desc.digest,
                    "size": 5,
                },
                "layers": [],
            }
        )
        d = client.push_manifest(repo, "t", manifest, OCI_MANIFEST)
        assert client.get_manifest(repo, d).raw == manifest
        assert client.list_referrers(repo, d) is None  # distribution 2.8.2: no referrers API


def test_missing_registry_binary_fails_loudly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without the Debian package the fixtures FAIL with the install line (they never skip)."""
    import tests.integration.conftest as fixtures

    monkeypatch.setattr(fixtures, "REGISTRY_BIN", str(tmp_path / "no-such-registry"))
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y docker-registry"):
        fixtures._start_registry(tmp_path, htpasswd=None)


def test_multi_platform_index_is_resolved_to_the_index_digest(registry: LocalRegistry) -> None:
    repo = registry.new_repo()
    amd, amd_raw = registry.push_image(repo, None)
    arm, arm_raw = registry.push_image(repo, None)
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": amd, "size": len(amd_raw),
             "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": OCI_MANIFEST, "digest": arm, "size": len(arm_raw),
             "platform": {"architecture": "arm64", "os": "linux"}},
        ],
    }  # fmt: skip
    index_digest, _ = registry.push_manifest(repo, "multi", index)
    registry.attach_legacy(repo, index_digest, [(_payload(index_digest), SIMPLESIGNING, {})])
    ev = collect_image_evidence(registry.ref(repo, "multi"))
    assert ev.digest == index_digest
    assert ev.media_type == "application/vnd.oci.image.index.v1+json"
    assert [s.payload for s in ev.signatures] == [_payload(index_digest)]
    # A platform manifest has its own (here: no) signatures.
    assert collect_image_evidence(registry.ref(repo, amd)).signatures == ()
