"""An independent OCI implementation reads the demo layout: skopeo (containers/image, Debian package) copies the
throwaway-key demo image and its cosign `.sig`/`.att` manifests into the registry with their digests
preserved, and our registry source then finds exactly what our layout source finds.

skopeo 1.9.3 cannot copy the referrers tag-schema index with digests preserved ("Manifest list must be
converted"), nor read index entries with Docker media types (so not the keyless-real layout): referrers are
covered by test_oci_registry.py and test_oci_sigstore_js.py. Needs `apt-get install -y skopeo`; without it
the test FAILS.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import LocalRegistry
from verifier.sources.image import collect_image_evidence

pytestmark = pytest.mark.registry

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo" / "throwaway-key"


def _skopeo() -> str:
    path = shutil.which("skopeo")
    if path is None:
        pytest.fail("skopeo is not installed (apt-get install -y skopeo)", pytrace=False)
    return path


def test_skopeo_reads_the_demo_layout_and_the_registry_copy_matches(
    registry: LocalRegistry,
) -> None:
    skopeo = _skopeo()
    from_layout = collect_image_evidence(f"oci-layout:{DEMO}")
    tag = from_layout.digest.replace(":", "-")
    repo = registry.new_repo("skopeo")
    for name in ("latest", f"{tag}.sig", f"{tag}.att"):
        proc = subprocess.run(
            [skopeo, "copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false",
             f"oci:{DEMO}:{name}", f"docker://{registry.host}/{repo}:{name}"],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr.decode()[-1000:]
    from_registry = collect_image_evidence(registry.ref(repo, "latest"))
    assert from_registry.digest == from_layout.digest
    assert from_registry.signatures == from_layout.signatures
    assert from_registry.attestations == from_layout.attestations
    assert len(from_registry.signatures) == 1 and len(from_registry.attestations) == 1
    assert from_registry.referrers == ()  # not copied (see the module docstring)


def test_skopeo_sees_the_same_manifest_bytes() -> None:
    skopeo = _skopeo()
    proc = subprocess.run([skopeo, "inspect", "--raw", f"oci:{DEMO}:latest"], capture_output=True,
                          timeout=60, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    ev = collect_image_evidence(f"oci-layout:{DEMO}:latest")
    assert (DEMO / "blobs" / "sha256" / ev.digest.split(":", 1)[1]).read_bytes() == proc.stdout
