"""Image references, digests, auth challenges and manifest parsing (pure functions, no I/O)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verifier.errors import InputError
from verifier.sources.image import parse_layout_ref
from verifier.sources.oci_common import (
    DigestMismatchError,
    InvalidManifestError,
    InvalidReferenceError,
    SizeMismatchError,
    compute_digest,
    digest_tag,
    parse_manifest,
    validate_digest,
    verify_content,
)
from verifier.sources.oci_registry import is_loopback, parse_challenge, parse_registry_ref

D = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("ref", "registry", "repo", "tag", "digest"),
    [
        ("127.0.0.1:5000/demo/hello:v1", "127.0.0.1:5000", "demo/hello", "v1", ""),
        (f"ghcr.io/org/app@{D}", "ghcr.io", "org/app", "", D),
        (f"ghcr.io/org/app:v1@{D}", "ghcr.io", "org/app", "v1", D),
        ("localhost/app:latest", "localhost", "app", "latest", ""),
        ("localhost:5000/a/b/c:1.0-rc.1", "localhost:5000", "a/b/c", "1.0-rc.1", ""),
        ("ubuntu:24.04", "docker.io", "library/ubuntu", "24.04", ""),
        ("bitnami/redis:7", "docker.io", "bitnami/redis", "7", ""),
        ("[::1]:5000/x:y", "[::1]:5000", "x", "y", ""),
    ],
)
def test_parse_registry_ref(ref: str, registry: str, repo: str, tag: str, digest: str) -> None:
    parsed = parse_registry_ref(ref)
    assert (parsed.registry, parsed.repository, parsed.tag, parsed.digest) == (
        registry,
        repo,
        tag,
        digest,
    )


@pytest.mark.parametrize(
    ("ref", "problem"),
    [
        ("", "empty"),
        ("ghcr.io/org/app", "give a tag"),
        ("ghcr.io/Org/App:v1", "not a valid repository"),
        ("ghcr.io/org/app@sha256:abc", "not a valid digest"),
        (f"ghcr.io/org/app@{D.upper()}", "not a valid digest"),
        ("ghcr.io/org/app:bad tag", "spaces"),
        ("ghcr.io/org/app:-x", "not a valid tag"),
        ("ghcr.io//app:v1", "not a valid repository"),
        ("bad_host:99/app:v1", "not a valid registry host"),
    ],
)
def test_parse_registry_ref_rejects(ref: str, problem: str) -> None:
    with pytest.raises(InvalidReferenceError, match=problem) as info:
        parse_registry_ref(ref)
    assert isinstance(info.value, InputError)
    assert info.value.exit_code == 2


def test_bare_repository_only_when_allowed() -> None:
    assert parse_registry_ref("ghcr.io/org/sigs", allow_bare=True).repository == "org/sigs"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", True),
        ("localhost:5000", True),
        ("127.0.0.1:5000", True),
        ("127.1.2.3", True),
        ("[::1]:5000", True),
        ("10.0.0.1:5000", False),
        ("ghcr.io", False),
        ("localhost.evil.com", False),
    ],
)
def test_is_loopback(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


def test_parse_bearer_challenge() -> None:
    c = parse_challenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/ubuntu:pull"'
    )
    assert c is not None and c.scheme == "bearer"
    assert c.params == {
        "realm": "https://auth.docker.io/token",
        "service": "registry.docker.io",
        "scope": "repository:library/ubuntu:pull",
    }


def test_parse_basic_and_odd_challenges() -> None:
    basic = parse_challenge('Basic realm="verifier-test"')
    assert (
        basic is not None and basic.scheme == "basic" and basic.params == {"realm": "verifier-test"}
    )
    escaped = parse_challenge(r'Bearer realm="https://a/t?x=\"y\"", service=reg')
    assert escaped is not None and escaped.params == {
        "realm": 'https://a/t?x="y"',
        "service": "reg",
    }
    assert parse_challenge("") is None
    assert parse_challenge('"junk" realm=x') is None


def test_digests() -> None:
    assert validate_digest(D) == D
    assert validate_digest("sha512:" + "b" * 128).startswith("sha512:")
    for bad in ("sha256:" + "a" * 63, "md5:" + "a" * 32, "sha256:" + "g" * 64, D + "\n"):
        with pytest.raises(InvalidReferenceError):
            validate_digest(bad)
    assert digest_tag(D, ".sig") == "sha256-" + "a" * 64 + ".sig"
    assert (
        compute_digest(b"")
        == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_verify_content_names_what_and_expected() -> None:
    verify_content(b"x", compute_digest(b"x"), "blob", 1)
    with pytest.raises(SizeMismatchError, match="blob: got 1 bytes but its descriptor says 2"):
        verify_content(b"x", compute_digest(b"x"), "blob", 2)
    with pytest.raises(
        DigestMismatchError, match=f"layer: content hashes to {compute_digest(b'y')}"
    ):
        verify_content(b"y", compute_digest(b"x"), "layer", 1)


def _manifest(**extra: object) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": D, "size": 2},
        "layers": [],
    }
    doc.update(extra)
    return json.dumps(doc).encode()


def test_parse_manifest_fields() -> None:
    raw = _manifest(
        artifactType="application/vnd.dev.sigstore.bundle.v0.3+json",
        subject={"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": D, "size": 9},
        annotations={"a": "b"},
    )
    m = parse_manifest(raw, compute_digest(raw), "", "m")
    assert m.subject is not None and m.subject.digest == D
    assert m.effective_artifact_type == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert m.annotations == {"a": "b"} and not m.is_index
    # No artifactType: the config media type stands in (OCI 1.1 rule).
    plain = parse_manifest(_manifest(), D, "", "m")
    assert plain.effective_artifact_type == "application/vnd.oci.empty.v1+json"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "not a JSON object"),
        (b'{"schemaVersion": 1}', "unsupported schemaVersion"),
        (_manifest(mediaType="text/html"), "unsupported manifest media type"),
        (_manifest(layers={"x": 1}), "'layers' must be a list"),
        (
            _manifest(layers=[{"mediaType": "x", "digest": "sha256:zz", "size": 1}]),
            "invalid digest",
        ),
        (_manifest(layers=[{"mediaType": "x", "digest": D, "size": -1}]), "invalid size"),
        (_manifest(layers=[{"mediaType": "x", "digest": D, "size": True}]), "invalid size"),
        (_manifest(annotations={"a": 1}), "annotations must be an object of strings"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    ],
)
def test_parse_manifest_rejects(raw: bytes, problem: str) -> None:
    with pytest.raises(InvalidManifestError, match=problem):
        parse_manifest(raw, D, "", "m")


def test_parse_layout_ref(tmp_path: Path) -> None:
    (tmp_path / "lay").mkdir()
    assert parse_layout_ref(f"oci-layout:{tmp_path}/lay") == (tmp_path / "lay", "", "")
    assert parse_layout_ref(f"oci-layout:{tmp_path}/lay@{D}") == (tmp_path / "lay", D, "")
    assert parse_layout_ref(f"oci-layout:{tmp_path}/lay:v1") == (tmp_path / "lay", "", "v1")
    with pytest.raises(InvalidReferenceError):
        parse_layout_ref("oci-layout:")
    with pytest.raises(InvalidReferenceError):
        parse_layout_ref(f"oci-layout:{tmp_path}/lay@sha256:123")


def test_referrers_pagination_links_stay_on_the_registry() -> None:
    from verifier.sources.oci_registry import _next_link

    base = "https://reg.example"
    assert _next_link(f'</v2/x/referrers/{D}?n=1>; rel="next"', base) == f"/v2/x/referrers/{D}?n=1"
    assert _next_link('<https://reg.example/v2/x/referrers/y?last=2>; rel="next"', base) == (
        "/v2/x/referrers/y?last=2"
    )
    assert _next_link('<https://evil.example/v2/x>; rel="next"', base) is None
    assert _next_link('<http://reg.example/v2/x>; rel="next"', base) is None  # no downgrade
    assert _next_link('</v2/x>; rel="prev"', base) is None
    assert _next_link("", base) is None
