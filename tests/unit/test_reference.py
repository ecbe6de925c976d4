"""The canonical image reference (``verifier.models.reference``).

The tables are our own, written from the cases of distribution/reference's ``reference_test.go`` and
``normalize_test.go`` (commit 0965666): each input is parsed the way ``ParseNormalizedNamed`` (the kubelet's
parser) reads it, then canonicalised (lower-case host, ``:443`` dropped, Docker Hub aliases, ``library/``).
Where we deliberately differ from distribution/reference the row says so.
"""

from __future__ import annotations

import pytest

from verifier.errors import InputError
from verifier.models.reference import (
    ImageReference,
    ImageReferenceError,
    canonical_host,
    canonical_pattern,
    parse_reference,
)

F64 = "f" * 64
D = f"sha256:{F64}"
D512 = f"sha512:{'f' * 128}"

# input -> canonical text (str of the parsed reference)
VALID: list[tuple[str, str]] = [
    # reference_test.go TestReferenceParse, read through ParseNormalizedNamed
    ("test_com", "docker.io/library/test_com"),
    ("test.com:tag", "docker.io/library/test.com:tag"),
    ("test.com:5000", "docker.io/library/test.com:5000"),
    ("test.com/repo:tag", "test.com/repo:tag"),
    ("test:5000/repo", "test:5000/repo"),
    ("test:5000/repo:tag", "test:5000/repo:tag"),
    (f"test:5000/repo@{D}", f"test:5000/repo@{D}"),
    (f"test:5000/repo:tag@{D}", f"test:5000/repo:tag@{D}"),
    ("lowercase:Uppercase", "docker.io/library/lowercase:Uppercase"),
    (
        "a/" * 127 + "a:tag-puts-this-over-max",
        "docker.io/" + "a/" * 127 + "a:tag-puts-this-over-max",
    ),
    ("sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com/bar/baz/quux"),
    ("sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com/bar/baz/quux:some-long-tag"),
    (
        "b.gcr.io/test.example.com/my-app:test.example.com",
        "b.gcr.io/test.example.com/my-app:test.example.com",
    ),
    ("xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com/myimage:xn--n3h.com"),
    (f"xn--7o8h.com/myimage:xn--7o8h.com@{D}", f"xn--7o8h.com/myimage:xn--7o8h.com@{D}"),
    ("foo_bar.com:8080", "docker.io/library/foo_bar.com:8080"),
    ("foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080"),
    ("192.168.1.1", "docker.io/library/192.168.1.1"),
    ("192.168.1.1:tag", "docker.io/library/192.168.1.1:tag"),
    ("192.168.1.1:5000", "docker.io/library/192.168.1.1:5000"),
    ("192.168.1.1/repo", "192.168.1.1/repo"),
    ("192.168.1.1:5000/repo", "192.168.1.1:5000/repo"),
    ("192.168.1.1:5000/repo:5050", "192.168.1.1:5000/repo:5050"),
    ("[2001:db8::1]/repo", "[2001:db8::1]/repo"),
    ("[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]/repo:tag"),
    ("[2001:db8::1]:5000/repo", "[2001:db8::1]:5000/repo"),
    (f"[2001:db8::1]:5000/repo:tag@{D}", f"[2001:db8::1]:5000/repo:tag@{D}"),
    ("[2001:db8::]:5000/repo", "[2001:db8::]:5000/repo"),
    ("[::1]:5000/repo", "[::1]:5000/repo"),
    ("example.com/" + "a" * 255 + ":tag", "example.com/" + "a" * 255 + ":tag"),
    # normalize_test.go TestValidateReferenceName / TestValidateRemoteName (valid names)
    ("docker/docker", "docker.io/docker/docker"),
    ("library/debian", "docker.io/library/debian"),
    ("debian", "docker.io/library/debian"),
    ("localhost/library/debian", "localhost/library/debian"),
    ("localhost/debian", "localhost/debian"),
    ("docker.io/docker/docker", "docker.io/docker/docker"),
    ("docker.io/library/debian", "docker.io/library/debian"),
    ("docker.io/debian", "docker.io/library/debian"),
    ("index.docker.io/docker/docker", "docker.io/docker/docker"),
    ("index.docker.io/library/debian", "docker.io/library/debian"),
    ("index.docker.io/debian", "docker.io/library/debian"),
    ("127.0.0.1:5000/docker/docker", "127.0.0.1:5000/docker/docker"),
    ("127.0.0.1:5000/debian", "127.0.0.1:5000/debian"),
    ("192.168.0.1", "docker.io/library/192.168.0.1"),
    ("192.168.0.1:80", "docker.io/library/192.168.0.1:80"),
    ("192.168.0.1:8/debian", "192.168.0.1:8/debian"),
    ("[fc00::1]:5000/docker/docker", "[fc00::1]:5000/docker/docker"),
    ("[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000/library/debian"),
    ("docker.io/" + "1a3f5e7d" * 8, "docker.io/library/" + "1a3f5e7d" * 8),
    (
        "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
        "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
    ),
    ("docker-rules/docker", "docker.io/docker-rules/docker"),
    ("docker---rules/docker", "docker.io/docker---rules/docker"),
    ("dock__er/docker", "docker.io/dock__er/docker"),
    ("d/docker", "docker.io/d/docker"),
    ("jess/t", "docker.io/jess/t"),
    # A first component recognised as a host only by its upper-case letters ("LOCALDOMAIN", "Docker",
    # "Foo"): distribution/reference keeps the case; we lower-case it and keep :443 so the canonical text
    # does not read as a Docker Hub namespace.
    ("LOCALDOMAIN/library/debian", "localdomain:443/library/debian"),
    ("LOCALDOMAIN/debian", "localdomain:443/debian"),
    ("Docker/docker", "docker:443/docker"),
    ("DOCKER/docker", "docker:443/docker"),
    ("Foo/bar", "foo:443/bar"),
    # normalize_test.go TestParseRepositoryInfo
    ("localhost/fooo/bar", "localhost/fooo/bar"),
    ("library/foo/bar", "docker.io/library/foo/bar"),
    ("store/foo/bar", "docker.io/store/foo/bar"),
    ("other/library", "docker.io/other/library"),
    ("example.com:8000/private/moonbase", "example.com:8000/private/moonbase"),
    ("index.docker.io/library/ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base"),
    # normalize_test.go TestParseReferenceWithTagAndDigest
    (
        "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
        "docker.io/library/busybox:latest"
        "@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
    ),
    # Ours: one spelling per registry (issue 17).
    (f"GHCR.IO/acme/app@{D}", f"ghcr.io/acme/app@{D}"),
    (f"ghcr.io:443/acme/app@{D}", f"ghcr.io/acme/app@{D}"),
    (f"Ghcr.Io:443/acme/app:v1@{D}", f"ghcr.io/acme/app:v1@{D}"),
    (f"index.docker.io/library/nginx@{D}", f"docker.io/library/nginx@{D}"),
    (f"registry-1.docker.io/library/nginx@{D}", f"docker.io/library/nginx@{D}"),
    ("registry-1.docker.io/nginx", "docker.io/library/nginx"),
    ("INDEX.DOCKER.IO:443/nginx:1", "docker.io/library/nginx:1"),
    ("docker.io:443/acme/app", "docker.io/acme/app"),
    ("localhost:443/app", "localhost/app"),
    ("[::1]:443/app", "[::1]/app"),
    ("FOO:443/bar", "foo:443/bar"),
    ("ghcr.io:4430/acme/app", "ghcr.io:4430/acme/app"),
    ("LOCALHOST/app", "localhost/app"),
    (f"repo@{D512}", f"docker.io/library/repo@{D512}"),
]

# input -> fragment of the problem
INVALID: list[tuple[str, str]] = [
    ("", "is empty"),
    (":justtag", "not a valid image reference"),
    (f"@{D}", "not a valid image reference"),
    ("repo@sha256:" + "f" * 34, "not a valid digest"),
    (f"validname@invaliddigest:{F64}", "'invaliddigest' is not supported"),
    ("Uppercase:tag", "must be lower-case"),
    ("test:5000/Uppercase/lowercase:tag", "must be lower-case"),
    ("domain/" + "a" * 256 + ":tag", "longer than 255"),
    ("aa/asdf$$^/aa", "not a valid image reference"),
    ("[2001:db8::1]", "not a valid image reference"),
    ("[2001:db8::1]:5000", "not a valid image reference"),
    ("[2001:db8::1]:tag", "not a valid image reference"),
    ("[fe80::1%eth0]:5000/repo", "not a valid registry host"),
    ("[fe80::1%@invalidzone]:5000/repo", "not a valid"),
    ("https://github.com/docker/docker", "not a valid registry host"),
    ("docker/Docker", "must be lower-case"),
    ("-docker", "not a valid image reference"),
    ("-docker/docker", "not a valid image reference"),
    ("-docker.io/docker/docker", "not a valid registry host"),
    ("docker///docker", "not a valid image reference"),
    ("docker.io/docker/Docker", "must be lower-case"),
    ("docker.io/docker///docker", "not a valid image reference"),
    ("[fc00::1]", "not a valid image reference"),
    ("[fc00::1]:5000", "not a valid image reference"),
    ("fc00::1:5000/debian", "not a valid registry host"),
    ("[fe80::1%eth0]:5000/debian", "not a valid registry host"),
    ("[2001:db8:3:4::192.0.2.33]:5000/debian", "not a valid registry host"),
    ("1a3f5e7d" * 8, "image id"),
    ("docker-/docker", "not a valid image reference"),
    ("-docker-/docker", "not a valid image reference"),
    ("____/____", "not a valid image reference"),
    ("_docker/_docker", "not a valid image reference"),
    ("dock..er/docker", "not a valid registry host"),
    ("dock_.er/docker", "not a valid registry host"),
    ("dock-.er/docker", "not a valid registry host"),
    ("docker/", "not a valid image reference"),
    (
        "_".join(["this_is_not_a_valid_namespace_because_its_length_is_greater_than_255"] * 4)
        + "/docker",
        "255",
    ),
    # Ours: digests we cannot re-hash are refused, upper-case hex is not a digest.
    (f"repo@sha384:{'f' * 96}", "'sha384' is not supported"),
    (f"repo@sha256:{'F' * 64}", "not a valid digest"),
    ("repo:-tag", "not a valid image reference"),
    ("repo:" + "t" * 129, "not a valid image reference"),
    ("a b", "not a valid image reference"),
    ("ghcr.io/acme/app\n", "not a valid image reference"),
    ("ghcr.io/acme/app:v1:v2", "not a valid image reference"),
    ("ghcr.io:port/acme/app", "not a valid registry host"),
    ("x" * 5000, "longer than 4096"),
]


@pytest.mark.parametrize(("text", "canonical"), VALID, ids=[v[0][:60] for v in VALID])
def test_valid_references(text: str, canonical: str) -> None:
    ref = parse_reference(text)
    assert str(ref) == canonical
    assert canonical.startswith(ref.name)
    assert ref.digest == (canonical.split("@")[1] if "@" in canonical else "")


@pytest.mark.parametrize(("text", "fragment"), INVALID, ids=[v[0][:60] for v in INVALID])
def test_invalid_references(text: str, fragment: str) -> None:
    with pytest.raises(ImageReferenceError) as info:
        parse_reference(text)
    assert fragment in info.value.problem
    assert isinstance(info.value, InputError)


@pytest.mark.parametrize(("text", "canonical"), VALID, ids=[v[0][:60] for v in VALID])
def test_canonical_text_parses_to_itself(text: str, canonical: str) -> None:
    """Metamorphic: canonicalising is idempotent (the canonical text never reads as another name)."""
    again = parse_reference(canonical)
    assert again == parse_reference(text)
    assert str(again) == canonical


@pytest.mark.parametrize(
    "name",
    [
        "ghcr.io/acme/app",
        "docker.io/library/nginx",
        "quay.io/a/b/c",
        "example.com:8000/x",
        "localhost/y",
    ],
)
@pytest.mark.parametrize("suffix", ["", ":v1", f"@{D}", f":v1@{D}"])
def test_host_spellings_name_the_same_repository(name: str, suffix: str) -> None:
    """Metamorphic: upper-casing the host, adding :443 or a Docker Hub alias never changes the reference."""
    want = parse_reference(name + suffix)
    host, path = name.split("/", 1)
    spellings = [host.upper(), host.title()]
    if ":" not in host:
        spellings += [f"{host}:443", f"{host.upper()}:443"]
    if host == "docker.io":
        spellings += ["index.docker.io", "registry-1.docker.io", "REGISTRY-1.DOCKER.IO:443"]
        spellings += [""]  # the familiar form: "library/nginx"
    for spelled in spellings:
        text = f"{spelled}/{path}{suffix}" if spelled else f"{path}{suffix}"
        assert parse_reference(text) == want, text
    if name == "docker.io/library/nginx":
        assert parse_reference("nginx" + suffix) == want


def test_tag_and_digest_are_split() -> None:
    ref = parse_reference(f"ghcr.io/acme/app:v1@{D}")
    assert ref == ImageReference("ghcr.io", "acme/app", "v1", D)
    assert ref.pinned == f"ghcr.io/acme/app@{D}"
    assert parse_reference("ghcr.io/acme/app:v1").pinned == ""
    assert parse_reference("ghcr.io/acme/app") == ImageReference("ghcr.io", "acme/app")


@pytest.mark.parametrize(
    ("host", "canonical"),
    [
        ("GHCR.IO", "ghcr.io"),
        ("ghcr.io:443", "ghcr.io"),
        ("ghcr.io:8443", "ghcr.io:8443"),
        ("registry-1.docker.io:443", "docker.io"),
        ("Foo", "foo:443"),
        ("foo:443", "foo:443"),
        ("[::1]:443", "[::1]"),
    ],
)
def test_canonical_host(host: str, canonical: str) -> None:
    assert canonical_host(host) == canonical
    assert canonical_host(canonical) == canonical


@pytest.mark.parametrize(
    ("pattern", "canonical"),
    [
        ("ghcr.io/acme/*", "ghcr.io/acme/*"),
        ("GHCR.IO:443/acme/*", "ghcr.io/acme/*"),
        ("index.docker.io/library/*", "docker.io/library/*"),
        ("registry-1.docker.io/library/nginx", "docker.io/library/nginx"),
        ("nginx", "docker.io/library/nginx"),
        ("acme/*", "docker.io/acme/*"),
        ("acme/app", "docker.io/acme/app"),
        ("*", "*"),
        ("*/acme/*", "*/acme/*"),
        ("*.gcr.io/x", "*.gcr.io/x"),
        ("Not A Pattern", "Not A Pattern"),
        ("ghcr.io/acme/app:v1", "ghcr.io/acme/app:v1"),
    ],
)
def test_canonical_pattern(pattern: str, canonical: str) -> None:
    assert canonical_pattern(pattern) == canonical
