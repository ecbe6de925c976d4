"""Integration fixtures: a real OCI registry (Debian ``docker-registry``, distribution 2.8.2) on 127.0.0.1.

Two session-scoped instances, each with its own config and filesystem storage in a temporary directory:

- ``registry``: anonymous pull and push;
- ``auth_registry``: htpasswd auth (``Basic`` challenge, the token-less setup sigstore-js needs), with a
  ``docker_config`` file holding its credentials.

Both expose the helpers other integration tests use to publish images and signatures (``push_image``,
``push_blob``, ``push_manifest``, ``attach_legacy``, ``attach_referrer``) and the on-disk path of a blob
(``blob_data_path``) so tamper tests can alter what the registry serves. The binary is required: without
it the fixtures FAIL (CI installs it with ``apt-get install -y docker-registry apache2-utils``).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from verifier.sources.docker_config import Credentials
from verifier.sources.oci_common import (
    DOCKER_MANIFEST,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
)
from verifier.sources.oci_registry import RegistryClient

REGISTRY_BIN = os.environ.get("VERIFIER_TEST_REGISTRY_BIN", "/usr/bin/docker-registry")
HTPASSWD_BIN = shutil.which("htpasswd") or "/usr/bin/htpasswd"
INSTALL_HINT = (
    "install it with: apt-get install -y docker-registry apache2-utils (CI does this in .ci/run)"
)
EMPTY_JSON = b"{}"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def canonical(obj: Any) -> bytes:
    """Compact, key-sorted JSON (what the helpers push as manifests)."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


@dataclass
class LocalRegistry:
    """A running docker-registry process and helpers to publish content into it."""

    host: str
    root: Path
    process: subprocess.Popen[bytes]
    credentials: Credentials | None = None
    docker_config: Path | None = None
    log_path: Path | None = None
    _clients: list[RegistryClient] = field(default_factory=list)
    _shared: RegistryClient | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.host}"

    def client(self, **kwargs: Any) -> RegistryClient:
        """A RegistryClient for this registry, with its credentials (closed at session end). Without
        arguments, one shared client (keeps its connection and auth between pushes)."""
        default = not kwargs
        if default and self._shared is not None:
            return self._shared
        kwargs.setdefault("credentials", self.credentials)
        c = RegistryClient(self.host, **kwargs)
        self._clients.append(c)
        if default:
            self._shared = c
        return c

    def ref(self, repo: str, digest_or_tag: str) -> str:
        """``127.0.0.1:PORT/repo@sha256:…`` or ``…/repo:tag``."""
        sep = "@" if digest_or_tag.startswith("sha256:") else ":"
        return f"{self.host}/{repo}{sep}{digest_or_tag}"

    def new_repo(self, prefix: str = "t") -> str:
        """A fresh repository name, so tests do not see each other's tags."""
        return f"{prefix}/{uuid.uuid4().hex[:12]}"

    # ----------------------------------------------------------------------------------------- pushing

    def push_blob(
        self, repo: str, data: bytes, media_type: str = "application/octet-stream"
    ) -> dict[str, Any]:
        """Upload a blob; returns its OCI descriptor as a dict."""
        desc: Descriptor = self.client().push_blob(repo, data)
        return {"mediaType": media_type, "digest": desc.digest, "size": desc.size}

    def push_manifest(
        self,
        repo: str,
        ref: str | None,
        manifest: dict[str, Any] | bytes,
        media_type: str | None = None,
    ) -> tuple[str, bytes]:
        """PUT a manifest by tag (or by its own digest when ``ref`` is None); returns (digest, bytes)."""
        raw = manifest if isinstance(manifest, bytes) else canonical(manifest)
        if media_type is None:
            media_type = json.loads(raw).get("mediaType", OCI_MANIFEST)
        from verifier.sources.oci_common import compute_digest

        digest = compute_digest(raw)
        self.client().push_manifest(repo, ref or digest, raw, media_type)
        return digest, raw

    def push_image(
        self,
        repo: str,
        tag: str | None = "latest",
        *,
        layer: bytes | None = None,
        docker_media_types: bool = False,
    ) -> tuple[str, bytes]:
        """A tiny image: one random layer + a config; returns (manifest digest, manifest bytes)."""
        layer = layer if layer is not None else secrets.token_bytes(64)
        config = canonical(
            {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
        )
        mt = DOCKER_MANIFEST if docker_media_types else OCI_MANIFEST
        manifest = {
            "schemaVersion": 2,
            "mediaType": mt,
            "config": self.push_blob(
                repo,
                config,
                "application/vnd.docker.container.image.v1+json"
                if docker_media_types
                else OCI_CONFIG,
            ),
            "layers": [
                self.push_blob(
                    repo,
                    layer,
                    "application/vnd.docker.image.rootfs.diff.tar.gzip"
                    if docker_media_types
                    else OCI_LAYER_GZIP,
                )
            ],
        }
        return self.push_manifest(repo, tag, manifest, mt)

    def attach_legacy(
        self,
        repo: str,
        image_digest: str,
        layers: list[tuple[bytes, str, dict[str, str]]],
        suffix: str = ".sig",
    ) -> str:
        """cosign-style ``sha256-<hex>.sig`` (or ``.att``) manifest with the given (data, mediaType,
        annotations) layers; returns the manifest digest."""
        config = self.push_blob(
            repo,
            canonical({"architecture": "", "os": "", "rootfs": {"type": "layers", "diff_ids": []}}),
            OCI_CONFIG,
        )
        descs = []
        for data, mt, ann in layers:
            d = self.push_blob(repo, data, mt)
            if ann:
                d["annotations"] = ann
            descs.append(d)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config,
            "layers": descs,
        }
        tag = image_digest.replace(":", "-") + suffix
        return self.push_manifest(repo, tag, manifest)[0]

    def attach_referrer(
        self,
        repo: str,
        subject_digest: str,
        subject_size: int,
        blob: bytes,
        *,
        artifact_type: str = BUNDLE_V03,
        annotations: dict[str, str] | None = None,
        subject_media_type: str = OCI_MANIFEST,
        update_tag_index: bool = True,
    ) -> str:
        """An OCI 1.1 referrer (cosign v3 / sigstore-js style) pushed by digest, and listed in the
        ``sha256-<hex>`` tag-schema index (this registry has no referrers API); returns its digest."""
        empty = self.push_blob(repo, EMPTY_JSON, OCI_EMPTY)
        layer = self.push_blob(repo, blob, artifact_type)
        ann = annotations or {}
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": empty,
            "layers": [layer],
            "subject": {
                "mediaType": subject_media_type,
                "digest": subject_digest,
                "size": subject_size,
            },
        }
        if ann:
            manifest["annotations"] = ann
        digest, raw = self.push_manifest(repo, None, manifest)
        if update_tag_index:
            self.add_to_tag_index(
                repo,
                subject_digest,
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": digest,
                    "size": len(raw),
                    "artifactType": artifact_type,
                    **({"annotations": ann} if ann else {}),
                },
            )
        return digest

    def add_to_tag_index(self, repo: str, subject_digest: str, descriptor: dict[str, Any]) -> str:
        """Append a descriptor to the ``sha256-<hex>`` referrers tag-schema index (creating it)."""
        tag = subject_digest.replace(":", "-")
        entries: list[dict[str, Any]] = []
        r = httpx.get(
            f"{self.url}/v2/{repo}/manifests/{tag}",
            headers={"Accept": OCI_INDEX, **self._auth_header()},
            timeout=5,
            trust_env=False,
        )
        if r.status_code == 200:
            entries = r.json().get("manifests", [])
        entries.append(descriptor)
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        return self.push_manifest(repo, tag, index, OCI_INDEX)[0]

    def _auth_header(self) -> dict[str, str]:
        if self.credentials is None:
            return {}
        raw = f"{self.credentials.username}:{self.credentials.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    # ----------------------------------------------------------------------------------------- tampering

    def blob_data_path(self, digest: str) -> Path:
        """Where distribution's filesystem driver keeps a blob (manifests are blobs too)."""
        algorithm, hex_ = digest.split(":", 1)
        return (
            self.root
            / "docker"
            / "registry"
            / "v2"
            / "blobs"
            / algorithm
            / hex_[:2]
            / hex_
            / "data"
        )

    def link_tag(self, repo: str, tag: str, digest: str) -> None:
        """Point ``repo:tag`` at a manifest blob written straight into storage (bypassing PUT checks)."""
        algorithm, hex_ = digest.split(":", 1)
        base = self.root / "docker" / "registry" / "v2" / "repositories" / repo / "_manifests"
        for link in (
            base / "revisions" / algorithm / hex_ / "link",
            base / "tags" / tag / "current" / "link",
            base / "tags" / tag / "index" / algorithm / hex_ / "link",
        ):
            link.parent.mkdir(parents=True, exist_ok=True)
            link.write_text(digest)

    def write_blob(self, data: bytes) -> str:
        """Store a blob directly on disk (no size/format checks by the registry); returns its digest."""
        from verifier.sources.oci_common import compute_digest

        digest = compute_digest(data)
        path = self.blob_data_path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return digest

    def close(self) -> None:
        """Stop the process and close clients."""
        for c in self._clients:
            c.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def _start_registry(
    base: Path, *, htpasswd: tuple[str, str] | None, blob_cache: bool = True
) -> LocalRegistry:
    if not (os.path.isfile(REGISTRY_BIN) and os.access(REGISTRY_BIN, os.X_OK)):
        pytest.fail(
            f"{REGISTRY_BIN} not found: the registry integration tests need it; {INSTALL_HINT}",
            pytrace=False,
        )
    port = _free_port()
    root = base / "storage"
    root.mkdir(parents=True)
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        # As the Debian package's /etc/docker/registry/config.yml (and upstream's image) ships it, except
        # that it listens on 127.0.0.1 only: the in-memory blob descriptor cache is part of that default.
        "storage": {
            **({"cache": {"blobdescriptor": "inmemory"}} if blob_cache else {}),
            "filesystem": {"rootdirectory": str(root)},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {
            "addr": f"127.0.0.1:{port}",
            "secret": secrets.token_hex(16),
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        },
    }
    credentials = None
    docker_config = None
    if htpasswd is not None:
        user, password = htpasswd
        if not os.path.isfile(HTPASSWD_BIN):
            pytest.fail(
                f"htpasswd not found (package apache2-utils); {INSTALL_HINT}", pytrace=False
            )
        out = subprocess.run(
            [HTPASSWD_BIN, "-nbB", user, password], capture_output=True, check=True
        )
        (base / "htpasswd").write_bytes(out.stdout.strip() + b"\n")
        config["auth"] = {"htpasswd": {"realm": "verifier-test", "path": str(base / "htpasswd")}}
        credentials = Credentials(username=user, password=password)
        docker_config = base / "docker-config.json"
        auth = base64.b64encode(f"{user}:{password}".encode()).decode()
        docker_config.write_text(json.dumps({"auths": {f"127.0.0.1:{port}": {"auth": auth}}}))
    # JSON is valid YAML; the registry reads YAML.
    (base / "config.yml").write_text(json.dumps(config))
    log_path = base / "registry.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [REGISTRY_BIN, "serve", str(base / "config.yml")],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={"PATH": "/usr/bin:/bin"},
        )
    reg = LocalRegistry(
        host=f"127.0.0.1:{port}",
        root=root,
        process=proc,
        credentials=credentials,
        docker_config=docker_config,
        log_path=log_path,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"docker-registry exited with {proc.returncode}: {log_path.read_text()[-2000:]}",
                pytrace=False,
            )
        try:
            r = httpx.get(f"{reg.url}/v2/", timeout=1, trust_env=False)
            if r.status_code in (200, 401):
                return reg
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    reg.close()
    pytest.fail(
        f"docker-registry did not become ready on {reg.host}: {log_path.read_text()[-2000:]}",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """An anonymous docker-registry on 127.0.0.1 (filesystem storage in tmp, delete enabled)."""
    reg = _start_registry(tmp_path_factory.mktemp("registry-anon"), htpasswd=None)
    yield reg
    reg.close()


@pytest.fixture(scope="session")
def uncached_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """An anonymous docker-registry without the blob descriptor cache, for tests that alter its storage:
    it then serves exactly what the files hold (a cached registry keeps the old size and fails mid-body)."""
    reg = _start_registry(
        tmp_path_factory.mktemp("registry-uncached"), htpasswd=None, blob_cache=False
    )
    yield reg
    reg.close()


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """A docker-registry with htpasswd auth (Basic challenge); ``.credentials`` and ``.docker_config``."""
    reg = _start_registry(
        tmp_path_factory.mktemp("registry-auth"), htpasswd=("verifier", secrets.token_urlsafe(12))
    )
    yield reg
    reg.close()
