"""OCI image-layout source: the shipped demo layouts, cosign-save layouts, and broken or tampered layouts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from verifier.errors import InputError, SourceError
from verifier.sources.image import collect_image_evidence
from verifier.sources.oci_common import (
    DSSE_ENVELOPE,
    SIMPLESIGNING,
    ContentTooLargeError,
    DigestMismatchError,
    Limits,
    ManifestNotFoundError,
    SizeMismatchError,
    compute_digest,
)
from verifier.sources.oci_layout import OciLayout

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "fixtures" / "demo"
KEYLESS = DEMO / "keyless-real"
THROWAWAY = DEMO / "throwaway-key"
KEYLESS_DIGEST = "sha256:0489474da8ea22426ece86ace6c1c0026ab2fd3cdfbbd62b7e94650266c37d9a"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


def _index(layout: Path) -> dict[str, Any]:
    return json.loads((layout / "index.json").read_text())


def _entry(layout: Path, ref_name_suffix: str) -> dict[str, Any]:
    for e in _index(layout)["manifests"]:
        if (
            e.get("annotations", {})
            .get("org.opencontainers.image.ref.name", "")
            .endswith(ref_name_suffix)
        ):
            return dict(e)
    raise AssertionError(ref_name_suffix)


def _blob(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / digest.split(":", 1)[1]


# ------------------------------------------------------------------------------------------- demo layouts


def test_keyless_demo_holds_the_real_cosign_signature() -> None:
    ev = collect_image_evidence(f"oci-layout:{KEYLESS}")
    assert ev.digest == KEYLESS_DIGEST
    assert ev.source == "oci-layout"
    assert ev.media_type == "application/vnd.docker.distribution.manifest.v2+json"
    assert len(ev.signatures) == 1 and ev.problems == ()
    sig = ev.signatures[0]
    assert sig.media_type == SIMPLESIGNING
    assert json.loads(sig.payload)["critical"]["image"]["docker-manifest-digest"] == KEYLESS_DIGEST
    assert set(sig.annotations) == {
        "dev.cosignproject.cosign/signature",
        "dev.sigstore.cosign/bundle",
        "dev.sigstore.cosign/certificate",
        "dev.sigstore.cosign/chain",
    }
    assert "BEGIN CERTIFICATE" in sig.annotations["dev.sigstore.cosign/certificate"]
    # The image's own config and layer blobs are absent and never read.
    manifest = json.loads(_blob(KEYLESS, KEYLESS_DIGEST).read_bytes())
    assert not _blob(KEYLESS, manifest["layers"][0]["digest"]).exists()


def test_throwaway_demo_has_sig_att_and_two_referrer_bundles() -> None:
    ev = collect_image_evidence(f"oci-layout:{THROWAWAY}")
    assert len(ev.signatures) == 1 and len(ev.attestations) == 1
    assert ev.attestations[0].media_type == DSSE_ENVELOPE
    assert ev.attestations[0].annotations == {"predicateType": "https://cyclonedx.org/bom"}
    # Found twice (subject scan and the sha256-<hex> tag-schema index) but collected once each.
    assert sorted(r.annotations["dev.sigstore.bundle.predicateType"] for r in ev.referrers) == [
        "https://cyclonedx.org/bom",
        "https://sigstore.dev/cosign/sign/v1",
    ]
    assert all(r.artifact_type == BUNDLE for r in ev.referrers)
    assert ev.problems == () and ev.other_referrers == ()


def test_select_by_digest_and_by_tag() -> None:
    by_tag = collect_image_evidence(f"oci-layout:{THROWAWAY}:latest")
    by_digest = collect_image_evidence(f"oci-layout:{THROWAWAY}@{by_tag.digest}")
    assert by_tag.digest == by_digest.digest
    assert by_tag.signatures == by_digest.signatures
    with pytest.raises(ManifestNotFoundError, match="no manifest tagged 'nope'"):
        OciLayout(THROWAWAY).select_image(tag="nope")
    with pytest.raises(ManifestNotFoundError, match="not found"):
        collect_image_evidence(f"oci-layout:{THROWAWAY}@sha256:{'0' * 64}")


def test_signature_repo_can_be_another_layout() -> None:
    # The keyless image with the throwaway layout as "signature repository": nothing there signs it.
    ev = collect_image_evidence(f"oci-layout:{KEYLESS}", signature_repo=f"oci-layout:{THROWAWAY}")
    assert ev.digest == KEYLESS_DIGEST
    assert ev.signatures == () and ev.referrers == ()
    assert ev.signature_repo == f"oci-layout:{THROWAWAY}"


# ------------------------------------------------------------------------------------------- tampering


def test_altered_signature_blob_is_a_digest_mismatch(tmp_path: Path) -> None:
    lay = _copy(KEYLESS, tmp_path)
    sig_manifest = json.loads(_blob(lay, _entry(lay, ".sig")["digest"]).read_bytes())
    payload = _blob(lay, sig_manifest["layers"][0]["digest"])
    data = payload.read_bytes()
    payload.write_bytes(data.replace(b"0489474d", b"00000000"))
    with pytest.raises(DigestMismatchError, match="content hashes to") as info:
        collect_image_evidence(f"oci-layout:{lay}")
    assert isinstance(info.value, SourceError) and info.value.exit_code == 3


def test_truncated_blob_is_a_size_mismatch(tmp_path: Path) -> None:
    lay = _copy(KEYLESS, tmp_path)
    sig_manifest = json.loads(_blob(lay, _entry(lay, ".sig")["digest"]).read_bytes())
    payload = _blob(lay, sig_manifest["layers"][0]["digest"])
    payload.write_bytes(payload.read_bytes()[:10])
    with pytest.raises(SizeMismatchError, match="got 10 bytes"):
        collect_image_evidence(f"oci-layout:{lay}")


def test_altered_image_manifest_is_refused(tmp_path: Path) -> None:
    lay = _copy(KEYLESS, tmp_path)
    path = _blob(lay, KEYLESS_DIGEST)
    path.write_bytes(path.read_bytes().replace(b"2568440", b"2568441"))
    with pytest.raises(DigestMismatchError):
        collect_image_evidence(f"oci-layout:{lay}")


def test_index_size_must_match_the_manifest(tmp_path: Path) -> None:
    lay = _copy(KEYLESS, tmp_path)
    index = _index(lay)
    for e in index["manifests"]:
        e["size"] += 1
    (lay / "index.json").write_text(json.dumps(index))
    with pytest.raises(SizeMismatchError):
        collect_image_evidence(f"oci-layout:{lay}")


def test_absent_signature_blob_is_a_problem(tmp_path: Path) -> None:
    lay = _copy(KEYLESS, tmp_path)
    sig_manifest = json.loads(_blob(lay, _entry(lay, ".sig")["digest"]).read_bytes())
    _blob(lay, sig_manifest["layers"][0]["digest"]).unlink()
    ev = collect_image_evidence(f"oci-layout:{lay}")
    assert ev.signatures == ()
    assert len(ev.problems) == 1 and "blob absent from the layout" in ev.problems[0]


def test_oversized_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ContentTooLargeError, match="over the limit of 100 bytes"):
        OciLayout(KEYLESS, Limits(manifest_bytes=100)).select_image()


def test_referrer_with_another_subject_is_reported(tmp_path: Path) -> None:
    lay = _copy(THROWAWAY, tmp_path)
    image_digest = _entry(lay, "latest")["digest"]
    # Re-point the first referrer at another subject (a copied signature) and re-address it.
    ref_entry = next(e for e in _index(lay)["manifests"] if e.get("artifactType") == BUNDLE)
    doc = json.loads(_blob(lay, ref_entry["digest"]).read_bytes())
    doc["subject"]["digest"] = "sha256:" + "1" * 64
    raw = json.dumps(doc).encode()
    new_digest = compute_digest(raw)
    _blob(lay, new_digest).write_bytes(raw)
    index = _index(lay)
    for e in index["manifests"]:
        if e["digest"] == ref_entry["digest"]:
            e["digest"], e["size"] = new_digest, len(raw)
    # ...and list it in the tag-schema index too, as an attacker copying it would.
    tag_index_entry = _entry(lay, image_digest.replace(":", "-"))
    tag_index = json.loads(_blob(lay, tag_index_entry["digest"]).read_bytes())
    tag_index["manifests"].append(
        {
            "mediaType": doc["mediaType"],
            "digest": new_digest,
            "size": len(raw),
            "artifactType": BUNDLE,
        }
    )
    ti_raw = json.dumps(tag_index).encode()
    _blob(lay, compute_digest(ti_raw)).write_bytes(ti_raw)
    for e in index["manifests"]:
        if e["digest"] == tag_index_entry["digest"]:
            e["digest"], e["size"] = compute_digest(ti_raw), len(ti_raw)
    (lay / "index.json").write_text(json.dumps(index))
    ev = collect_image_evidence(f"oci-layout:{lay}")
    # The two genuine referrers are still found through the tag-schema index; the copy is reported.
    assert len(ev.referrers) == 2
    assert new_digest not in {r.manifest_digest for r in ev.referrers}
    assert [p for p in ev.problems if "its subject is sha256:1111" in p and new_digest in p]


# ------------------------------------------------------------------------------------------- malformed


def test_not_a_layout(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a directory"):
        collect_image_evidence(f"oci-layout:{tmp_path}/missing")
    with pytest.raises(InputError, match="no 'oci-layout' file"):
        collect_image_evidence(f"oci-layout:{tmp_path}")
    (tmp_path / "oci-layout").write_text('{"imageLayoutVersion": "2.0.0"}')
    with pytest.raises(InputError, match="unsupported imageLayoutVersion"):
        collect_image_evidence(f"oci-layout:{tmp_path}")
    (tmp_path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    with pytest.raises(InputError, match="no index.json"):
        collect_image_evidence(f"oci-layout:{tmp_path}")
    (tmp_path / "index.json").write_text("{broken")
    with pytest.raises(InputError, match=r"index.json: not valid JSON") as info:
        collect_image_evidence(f"oci-layout:{tmp_path}")
    assert info.value.exit_code == 2
    (tmp_path / "index.json").write_text('{"schemaVersion": 2, "manifests": []}')
    with pytest.raises(SourceError, match="lists no image"):
        collect_image_evidence(f"oci-layout:{tmp_path}")


def test_two_images_need_a_digest(tmp_path: Path) -> None:
    lay = tmp_path / "two"
    (lay / "blobs" / "sha256").mkdir(parents=True)
    (lay / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    entries = []
    for n in (1, 2):
        cfg = b'{"n":%d}' % n
        (lay / "blobs/sha256" / compute_digest(cfg)[7:]).write_bytes(cfg)
        m = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": compute_digest(cfg),
                    "size": len(cfg),
                },
                "layers": [],
            }
        ).encode()
        (lay / "blobs/sha256" / compute_digest(m)[7:]).write_bytes(m)
        entries.append(
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": compute_digest(m),
                "size": len(m),
            }
        )
    (lay / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": entries}))
    with pytest.raises(InputError, match="2 images in the layout; choose one"):
        collect_image_evidence(f"oci-layout:{lay}")
    assert (
        collect_image_evidence(f"oci-layout:{lay}@{entries[1]['digest']}").digest
        == entries[1]["digest"]
    )


def test_cosign_save_layout_kind_annotations(tmp_path: Path) -> None:
    """`cosign save` marks entries with kind=dev.cosignproject.cosign/{image,sigs,atts}, without tags."""
    lay = _copy(THROWAWAY, tmp_path)
    index = _index(lay)
    kinds = {"latest": "image", ".sig": "sigs", ".att": "atts"}
    out = []
    for e in index["manifests"]:
        name = e.get("annotations", {}).get("org.opencontainers.image.ref.name", "")
        for suffix, kind in kinds.items():
            if name.endswith(suffix):
                out.append({**e, "annotations": {"kind": f"dev.cosignproject.cosign/{kind}"}})
    index["manifests"] = out
    (lay / "index.json").write_text(json.dumps(index))
    ev = collect_image_evidence(f"oci-layout:{lay}")
    assert ev.digest == _entry(THROWAWAY, "latest")["digest"]
    assert len(ev.signatures) == 1 and len(ev.attestations) == 1
    assert ev.referrers == ()  # the referrers were not kept in this index
