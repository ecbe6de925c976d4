"""A release of several images: every image verified, one decision, every digest pinned where it came from.

On the demo's two OCI layouts (both signed with the THROWAWAY demo key) and on images pushed to the local
Debian docker-registry and signed here with throwaway keys.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.integration.conftest import LocalRegistry
from tests.integration.test_webhook_registry import Images

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A copy of fixtures/demo (the gate writes into release/values.yaml)."""
    copy = tmp_path / "demo"
    shutil.copytree(DEMO, copy)
    return copy


def _gate(
    capsys: pytest.CaptureFixture[str], demo: Path, *args: str
) -> tuple[int, dict[str, object]]:
    run = run_cli(
        capsys,
        "gate",
        "--config",
        str(demo / "verifier-release.yaml"),
        "--images-from",
        str(demo / "release" / "values.yaml"),
        "--format",
        "json",
        *args,
    )
    return run.code, json.loads(run.out) if run.out else {}


def test_two_images_verified_and_pinned_in_one_run(
    capsys: pytest.CaptureFixture[str], demo: Path
) -> None:
    values = demo / "release" / "values.yaml"
    code, report = _gate(capsys, demo, "--update", str(values))
    assert code == 0, report
    images = report["images"]
    assert isinstance(images, list) and len(images) == 2
    digests = [image["digest"] for image in images]
    text = values.read_text()
    assert all(f'digest: "{d}"' in text for d in digests)
    assert "# Helm values of the demo's two-image release" in text  # comments kept
    # Each image has its own signature and SBOM results, grouped per image in the report.
    results = report["results"]
    assert isinstance(results, list)
    for image in images:
        checks = sorted(results[i]["check"] for i in image["results"])
        assert checks == ["sbom-attestation", "signature"]


def test_one_image_of_another_release_denies_all_and_pins_nothing(
    capsys: pytest.CaptureFixture[str], demo: Path
) -> None:
    """The worker replaced by the keyless demo image (signed by someone else): the release is denied,
    and no file is written, not even the api's digest."""
    values = demo / "release" / "values.yaml"
    text = values.read_text()
    api, worker = text[: text.index("worker:")], text[text.index("worker:") :]
    worker = worker.replace("oci-layout:../throwaway-worker", "oci-layout:../keyless-real")
    values.write_text(api + worker.replace("tag: latest", "tag: fulcio-rekor-1"))
    before = values.read_text()
    code, report = _gate(capsys, demo, "--update", str(values))
    assert code == 1
    decision = report["decision"]
    assert isinstance(decision, dict) and decision["allowed"] is False
    assert any("keyless-real" in d for d in decision["deny"])
    assert values.read_text() == before


def test_digest_placeholder_needs_exactly_one_image(
    capsys: pytest.CaptureFixture[str], demo: Path
) -> None:
    run = run_cli(
        capsys,
        "gate",
        "--config",
        str(demo / "verifier-release.yaml"),
        "--images-from",
        str(demo / "release" / "values.yaml"),
        "--update",
        f"{demo / 'release' / 'values.yaml'}:.api.image.digest={{digest}}",
    )
    assert run.code == 2 and "needs exactly one image" in run.err


def test_images_key_in_the_config_and_vsa_per_image(
    capsys: pytest.CaptureFixture[str], demo: Path
) -> None:
    config = demo / "two.yaml"
    config.write_text(
        "images: [oci-layout:throwaway-key, oci-layout:throwaway-worker]\n"
        "signers: {key: keys/throwaway-cosign.pub}\n"
    )
    vsa = demo / "vsa.jsonl"
    run = run_cli(capsys, "gate", "--config", str(config), "--vsa", str(vsa))
    assert run.code == 0, run.out + run.err
    statements = [json.loads(line) for line in vsa.read_text().splitlines()]
    assert [s["predicate"]["resourceUri"].split("@")[0] for s in statements] == [
        f"oci-layout:{demo / 'throwaway-key'}",
        f"oci-layout:{demo / 'throwaway-worker'}",
    ]


@pytest.mark.registry
def test_registry_release_with_an_unsigned_image_is_denied(
    capsys: pytest.CaptureFixture[str], registry: LocalRegistry, tmp_path: Path
) -> None:
    """Three images in the local registry: two signed by the configured key, one unsigned (or signed by
    another key). The gate verifies all three and denies, naming the bad ones."""
    images = Images(registry, tmp_path)
    config = tmp_path / "verifier.yaml"
    config.write_text("signers: {key: good.pub}\n")
    manifest = tmp_path / "rendered.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        f"    - {{name: a, image: {images.signed}}}\n"
        f"    - {{name: b, image: {images.unsigned}}}\n"
        f"    - {{name: c, image: {images.wrong_signer}}}\n"
    )
    run = run_cli(
        capsys, "gate", "--config", str(config), "--images-from", str(manifest), "--format", "json"
    )
    assert run.code == 1, run.err
    report = json.loads(run.out)
    verdicts = {r["subject"]: r["verdict"] for r in report["results"]}
    assert len(report["images"]) == 3
    assert sorted(verdicts.values()) == ["fail", "fail", "pass"]
    allowed_only_signed = run_cli(
        capsys, "gate", "--config", str(config), "--image", images.signed, "--format", "json"
    )
    assert allowed_only_signed.code == 0
