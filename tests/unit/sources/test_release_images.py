"""The images a release names: rendered manifests, a kustomization, Helm values; and where each is pinned."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from verifier.errors import InputError
from verifier.sources.release_images import read_images

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "release"
D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


def test_rendered_manifests_every_container_kind_and_image_volumes() -> None:
    found = read_images(str(ASSETS / "rendered.yaml"))
    assert [(i.ref, i.document, i.path) for i in found] == [
        (
            "ghcr.io/acme/api-migrate:1.4.0",
            1,
            ("spec", "template", "spec", "initContainers", 0, "image"),
        ),
        (f"ghcr.io/acme/api@{D1}", 1, ("spec", "template", "spec", "containers", 0, "image")),
        (
            "ghcr.io/acme/models:2025-11",
            1,
            ("spec", "template", "spec", "volumes", 0, "image", "reference"),
        ),
        (
            "docker.io/library/busybox:1.36",
            2,
            ("spec", "jobTemplate", "spec", "template", "spec", "containers", 0, "image"),
        ),
    ]
    # A manifest's image string itself is pinned: the tag is kept, the digest replaces any old one.
    api = found[1]
    assert api.pin_path == api.path
    assert api.pin_value(D2) == f"ghcr.io/acme/api@{D2}"
    assert found[0].pin_value(D2) == f"ghcr.io/acme/api-migrate:1.4.0@{D2}"


def test_kustomization_images() -> None:
    found = read_images(str(ASSETS / "kustomization.yaml"))
    assert [i.ref for i in found] == ["ghcr.io/acme/api:1.4.0", f"ghcr.io/acme/worker@{D2}"]
    assert found[0].pin_path == ("images", 0, "digest")
    assert found[0].pin_value(D1) == D1


def test_helm_values_with_registry_tag_and_digest() -> None:
    found = read_images(str(ASSETS / "values.yaml"))
    assert [(i.ref, i.pin_path) for i in found] == [
        ("ghcr.io/acme/api:1.4.0", ("api", "image", "digest")),
        (f"ghcr.io/acme/worker@{D2}", ("worker", "image", "digest")),
    ]


def test_oci_layout_references_are_relative_to_the_file(tmp_path: Path) -> None:
    sub = tmp_path / "release"
    sub.mkdir()
    (sub / "values.yaml").write_text("image:\n  repository: oci-layout:../layout\n  tag: latest\n")
    [image] = read_images(str(sub / "values.yaml"))
    assert image.ref == f"oci-layout:{tmp_path / 'layout'}:latest"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("replicas: 3\n", "names no image"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", "names no image"),
        (
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n",
            "containers[0] has no image",
        ),
        (
            "apiVersion: v1\nkind: Pod\nspec:\n  volumes:\n    - name: v\n      image: {}\n",
            "volumes[0].image has no reference",
        ),
        ("kind: Kustomization\nimages:\n  - newTag: v1\n", "has neither newName nor name"),
        ("image: [unclosed\n", "not valid YAML at line"),
        (
            "a:\n" + "".join(f"{'  ' * i}b{i}:\n" for i in range(1, 80)) + "  " * 80 + "x: 1\n",
            "nested",
        ),
    ],
)
def test_a_file_that_names_no_image_or_a_broken_one_is_an_error(
    tmp_path: Path, text: str, message: str
) -> None:
    """A release whose images cannot all be read is not a release to admit: exit 2, the file named."""
    path = tmp_path / "release.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=re.escape(message)) as info:
        read_images(str(path))
    assert str(path) in str(info.value)
