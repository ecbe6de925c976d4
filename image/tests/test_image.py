"""The verifier image, built here for real, run, pushed, signed, attested, and gated by its own verifier.

``make image-test`` (CI runs it; root, ``make image-deps`` and ``make wheelhouse`` first):

1. ``image/build.sh`` builds the Containerfile: mmdebstrap makes the Debian bookworm bases, buildah builds
   (chroot isolation, vfs storage). The bases are cached in ``.image/`` between runs.
2. The image runs as its config says (user 65532, exec-form entrypoint, no shell) with its root filesystem
   mounted read-only and, for the demo, no network: there is no container engine on these machines, so the
   test mounts the image's root with buildah and enters it with ``unshare`` + ``chroot --userspec`` (the
   isolation that matters here: read-only root, non-root user, no network namespace access).
3. skopeo pushes it to the local docker-registry. It is signed and its SBOM attested with a THROWAWAY ECDSA
   key made for this run: no Fulcio or Rekor is reachable here, so keyless signing cannot run (the release
   workflow, .github/workflows/deploy.yml, signs keylessly). The SBOM is CycloneDX from ``cyclonedx-py``
   over the lock the image was built from, and checked against the distributions the image really holds.
4. The image's own verifier gates its own image: allowed. A tampered copy (one layer added, the signature
   and attestation copied over to its digest, as an attacker would) is denied.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import shlex
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.integration.conftest import LocalRegistry
from verifier import __version__
from verifier.sigstore.dsse import pae

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "fixtures" / "demo"
IMAGE_DIR = REPO / ".image"
TAG = "localhost/verifier:dev"
# The image's name in the local registry: the project's one name (tests/unit/test_one_name.py) on 127.0.0.1.
REPOSITORY = "verifier-dev/verifier"
SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE_LAYER = "application/vnd.dsse.envelope.v1+json"
INTOTO = "application/vnd.in-toto+json"
CYCLONEDX = "https://cyclonedx.org/bom"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
# The shells of Debian's essential set (sh is a link to dash).
SHELLS = ("usr/bin/dash", "usr/bin/bash")
# Made for this test run and never stored outside its temporary directory: a THROWAWAY signing key.
THROWAWAY_KEY = ec.generate_private_key(ec.SECP256R1())


@dataclass(frozen=True)
class Built:
    """The built image: its OCI archive and the buildah storage that holds it."""

    archive: Path
    buildah: tuple[str, ...]


@pytest.fixture(scope="session")
def built() -> Built:
    done = subprocess.run(
        ["bash", str(REPO / "image" / "build.sh"), str(IMAGE_DIR)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    archive = Path(done.stdout.strip().splitlines()[-1])
    assert archive.is_file()
    buildah = (
        "buildah",
        "--root",
        str(IMAGE_DIR / "storage"),
        "--runroot",
        str(IMAGE_DIR / "run"),
        "--storage-driver",
        "vfs",
    )
    return Built(archive, buildah)


@pytest.fixture(scope="session")
def rootfs(built: Built) -> Iterator[Path]:
    """The image's root filesystem, mounted by buildah (a working container of the built image)."""
    ctr = subprocess.run(
        [*built.buildah, "from", "--quiet", "--pull-never", TAG],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout.strip()
    try:
        mount = subprocess.run(
            [*built.buildah, "mount", ctr], capture_output=True, text=True, check=True, timeout=60
        ).stdout.strip()
        yield Path(mount)
    finally:
        subprocess.run([*built.buildah, "rm", ctr], capture_output=True, check=False, timeout=120)


def run_in_image(
    root: Path,
    *args: str,
    binds: dict[str, Path] | None = None,
    network: bool = False,
    program: str = "/opt/verifier/bin/verifier",
) -> subprocess.CompletedProcess[str]:
    """``verifier ARGS`` inside the image: root filesystem read-only, user 65532, a tmpfs on /tmp, the
    image's environment only, its shells blanked out (the entrypoint needs none), and no network unless
    ``network`` (then the host's, to reach the registry).
    ``binds`` maps mount points inside the image to host directories, mounted read-only."""
    binds = binds or {}
    lines = ["set -e", f"mount --bind {shlex.quote(str(root))} {shlex.quote(str(root))}"]
    for inside, host in binds.items():
        target = shlex.quote(f"{root}{inside}")
        lines += [
            f"mkdir -p {target}",
            f"mount --bind {shlex.quote(str(host))} {target}",
            f"mount -o remount,bind,ro {target}",
        ]
    # No shell at run time: every shell of the image is replaced by an empty file for the run.
    for shell in SHELLS:
        lines.append(f"mount --bind /dev/null {shlex.quote(str(root / shell))}")
    lines += [
        f"mount -t tmpfs -o size=64m tmpfs {shlex.quote(str(root / 'tmp'))}",
        f"mount -o remount,bind,ro {shlex.quote(str(root))}",
        "exec env -i PATH=/opt/verifier/bin:/usr/bin:/bin PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 "
        f"HOME=/tmp /usr/sbin/chroot --userspec=65532:65532 {shlex.quote(str(root))} "
        + " ".join(shlex.quote(a) for a in (program, *args)),
    ]
    unshare = ["unshare", "--mount", "--fork", *([] if network else ["--net"])]
    return subprocess.run(
        [*unshare, "--", "bash", "-c", "\n".join(lines)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _oci_config(archive: Path) -> dict[str, Any]:
    with tarfile.open(archive) as tar:

        def blob(digest: str) -> Any:
            member = tar.extractfile("blobs/sha256/" + digest.split(":", 1)[1])
            assert member is not None
            return json.loads(member.read())

        index = json.loads(tar.extractfile("index.json").read())  # type: ignore[union-attr]
        [entry] = index["manifests"]
        manifest = blob(entry["digest"])
        config: dict[str, Any] = blob(manifest["config"]["digest"])
        return config


def test_image_config_is_non_root_exec_form_and_labelled(built: Built) -> None:
    config = _oci_config(built.archive)["config"]
    assert config["User"] == "65532:65532"
    assert config["Entrypoint"] == ["/opt/verifier/bin/verifier"]
    assert "PYTHONDONTWRITEBYTECODE=1" in config["Env"]
    assert config["Labels"]["org.opencontainers.image.source"] == (
        "https://github.com/verifier-dev/verifier"
    )


def test_runtime_venv_holds_the_lock_and_no_build_tools(rootfs: Path) -> None:
    site = rootfs / "opt" / "verifier" / "lib" / "python3.11" / "site-packages"
    installed = {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}
    assert {"verifier", "uvicorn", "starlette", "sigstore", "gordon_to_regorus"} <= installed
    assert not installed & {"pip", "hatchling", "setuptools", "uv"}
    assert not (rootfs / "opt" / "verifier" / "bin" / "pip").exists()
    for shell in SHELLS:  # what run_in_image blanks out is really there
        assert (rootfs / shell).is_file()
    # Every module was byte-compiled at build time (a read-only root cannot take .pyc files later).
    assert list((site / "verifier" / "__pycache__").glob("__init__.cpython-311.pyc"))


def test_runs_read_only_as_non_root_without_network(rootfs: Path) -> None:
    version = run_in_image(rootfs, "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("verifier ")
    allow = run_in_image(rootfs, "gate", "--config", "/demo/verifier.yaml", binds={"/demo": DEMO})
    assert allow.returncode == 0, allow.stdout[-2000:] + allow.stderr
    assert "DECISION: ALLOWED" in allow.stdout
    deny = run_in_image(
        rootfs, "gate", "--config", "/demo/verifier-deny.yaml", binds={"/demo": DEMO}
    )
    assert deny.returncode == 1, deny.stdout[-2000:] + deny.stderr
    assert "DECISION: DENIED" in deny.stdout
    webhook = run_in_image(rootfs, "webhook", "--help")  # the [webhook] extra is in the image
    assert webhook.returncode == 0, webhook.stderr
    # Control: in those runs there was no shell to fall back on.
    shell = run_in_image(rootfs, "-c", "echo reached", program="/bin/sh")
    assert shell.returncode != 0 and "reached" not in shell.stdout


def _cyclonedx_sbom(tmp: Path) -> dict[str, Any]:
    out = tmp / "sbom.cdx.json"
    subprocess.run(
        [
            str(Path(shutil.which("cyclonedx-py") or REPO / ".venv" / "bin" / "cyclonedx-py")),
            "requirements",
            str(REPO / "requirements" / "webhook.txt"),
            "--pyproject",
            str(REPO / "pyproject.toml"),
            "--of",
            "JSON",
            "--sv",
            "1.6",
            "-o",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    doc: dict[str, Any] = json.loads(out.read_text())
    # pyproject's version is dynamic (hatch reads verifier/__init__.py), which cyclonedx-py cannot follow.
    doc["metadata"]["component"].setdefault("version", __version__)
    return doc


def test_sbom_lists_exactly_what_the_image_holds(rootfs: Path, tmp_path: Path) -> None:
    sbom = _cyclonedx_sbom(tmp_path)
    listed = {(c["name"].lower().replace("_", "-"), c["version"]) for c in sbom["components"]}
    site = rootfs / "opt" / "verifier" / "lib" / "python3.11" / "site-packages"
    held = set()
    for dist in site.glob("*.dist-info"):
        meta = (dist / "METADATA").read_text(errors="replace").splitlines()
        name = next(line.split(": ", 1)[1] for line in meta if line.startswith("Name: "))
        version = next(line.split(": ", 1)[1] for line in meta if line.startswith("Version: "))
        held.add((name.lower().replace("_", "-").replace(".", "-"), version))
    listed = {(n.replace(".", "-"), v) for n, v in listed}
    assert sbom["metadata"]["component"]["name"] == "verifier"
    assert ("verifier", __version__) in held
    assert held - {("verifier", __version__)} == listed


def _sign(payload: bytes) -> str:
    return base64.b64encode(THROWAWAY_KEY.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()


def _attest(registry: LocalRegistry, digest: str, sbom: dict[str, Any]) -> None:
    statement = json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [
                {"name": f"{registry.host}/{REPOSITORY}", "digest": {"sha256": digest[7:]}}
            ],
            "predicateType": CYCLONEDX,
            "predicate": sbom,
        }
    ).encode()
    envelope = {
        "payloadType": INTOTO,
        "payload": base64.b64encode(statement).decode(),
        "signatures": [{"keyid": "", "sig": _sign(pae(INTOTO, statement))}],
    }
    registry.attach_legacy(
        REPOSITORY,
        digest,
        [(json.dumps(envelope).encode(), DSSE_LAYER, {"predicateType": CYCLONEDX})],
        suffix=".att",
    )


def _sign_image(registry: LocalRegistry, digest: str) -> None:
    payload = json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": f"{registry.host}/{REPOSITORY}"},
                "image": {"docker-manifest-digest": digest},
                "type": "cosign container image signature",
            },
            "optional": None,
        },
        separators=(",", ":"),
    ).encode()
    registry.attach_legacy(
        REPOSITORY,
        digest,
        [(payload, SIMPLESIGNING, {"dev.cosignproject.cosign/signature": _sign(payload)})],
    )


def _get(registry: LocalRegistry, path: str, accept: str = OCI_MANIFEST) -> bytes:
    r = httpx.get(
        f"{registry.url}/v2/{REPOSITORY}/{path}",
        headers={"Accept": accept},
        timeout=30,
        trust_env=False,
    )
    r.raise_for_status()
    return r.content


def _tampered_copy(registry: LocalRegistry, digest: str) -> str:
    """The image with one more layer (a file an attacker added), pushed under its own digest, with the
    original's signature and attestation manifests copied to that digest's tags. Returns its digest."""
    manifest = json.loads(_get(registry, f"manifests/{digest}"))
    config = json.loads(_get(registry, f"blobs/{manifest['config']['digest']}", "*/*"))
    layer_tar = io.BytesIO()
    with tarfile.open(fileobj=layer_tar, mode="w") as tar:
        data = b"print('a backdoor')\n"
        info = tarfile.TarInfo("opt/verifier/lib/python3.11/site-packages/backdoor.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    raw = layer_tar.getvalue()
    layer = registry.push_blob(
        REPOSITORY, gzip.compress(raw, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
    )
    config["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(raw).hexdigest())
    manifest["config"] = registry.push_blob(
        REPOSITORY,
        json.dumps(config).encode(),
        manifest["config"]["mediaType"],
    )
    manifest["layers"].append(layer)
    tampered, _ = registry.push_manifest(REPOSITORY, "tampered", manifest, OCI_MANIFEST)
    for suffix in (".sig", ".att"):
        copied = _get(registry, f"manifests/{digest.replace(':', '-')}{suffix}")
        registry.push_manifest(
            REPOSITORY, tampered.replace(":", "-") + suffix, copied, OCI_MANIFEST
        )
    return tampered


def _gate(rootfs: Path, work: Path, image: str) -> tuple[int, dict[str, Any]]:
    (work / "verifier.yaml").write_text(
        f"image: {image}\nsigners:\n  key: throwaway-key.pub\nsbom:\n  required: true\n"
        "  format: cyclonedx\n"
    )
    done = run_in_image(
        rootfs,
        "gate",
        "--config",
        "/work/verifier.yaml",
        "--format",
        "json",
        binds={"/work": work},
        network=True,
    )
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return done.returncode, report


def test_own_image_signed_attested_and_gated_by_itself(
    built: Built, rootfs: Path, registry: LocalRegistry, tmp_path: Path
) -> None:
    digest_file = tmp_path / "digest"
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--quiet",
            "--preserve-digests",
            "--dest-tls-verify=false",
            "--digestfile",
            str(digest_file),
            f"oci-archive:{built.archive}",
            f"docker://{registry.host}/{REPOSITORY}:dev",
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    digest = digest_file.read_text().strip()
    _sign_image(registry, digest)
    _attest(registry, digest, _cyclonedx_sbom(tmp_path))
    work = tmp_path / "work"
    work.mkdir()
    (work / "throwaway-key.pub").write_bytes(
        THROWAWAY_KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )

    code, report = _gate(rootfs, work, f"{registry.host}/{REPOSITORY}@{digest}")
    assert code == 0, report["decision"]
    assert report["decision"]["allowed"] is True
    verdicts = {r["check"]: r["verdict"] for r in report["results"]}
    assert verdicts == {"signature": "pass", "sbom-attestation": "pass"}

    tampered = _tampered_copy(registry, digest)
    assert tampered != digest
    code, report = _gate(rootfs, work, f"{registry.host}/{REPOSITORY}@{tampered}")
    assert code == 1
    assert report["decision"]["allowed"] is False
    verdicts = {r["check"]: r["verdict"] for r in report["results"]}
    assert verdicts == {"signature": "fail", "sbom-attestation": "fail"}
