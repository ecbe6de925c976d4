"""The webhook looks credentials up for every image: the parsed docker config is reused only while the file
is unchanged (same device, inode, size and mtime), so a rotated secret is picked up on the next lookup."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from verifier.errors import InputError
from verifier.sources.docker_config import Credentials, load_credentials


def _write(path: Path, user: str, password: str) -> None:
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    path.write_text(json.dumps({"auths": {"ghcr.io": {"auth": auth}}}))


def test_rewritten_file_is_read_again(tmp_path: Path) -> None:
    cfg = tmp_path / "config.json"
    _write(cfg, "alice", "one")
    assert load_credentials("ghcr.io", cfg) == Credentials("alice", "one")
    assert load_credentials("ghcr.io", cfg) == Credentials("alice", "one")
    _write(cfg, "alice", "two")  # same size: only the mtime tells
    st = cfg.stat()
    os.utime(cfg, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert load_credentials("ghcr.io", cfg) == Credentials("alice", "two")


def test_secret_swapped_by_rename_is_read_again(tmp_path: Path) -> None:
    """Kubernetes updates a mounted secret by swapping a symlinked directory: a new inode."""
    cfg = tmp_path / "config.json"
    _write(cfg, "bob", "old")
    assert load_credentials("ghcr.io", cfg) == Credentials("bob", "old")
    new = tmp_path / "config.json.new"
    _write(new, "bob", "new")
    os.replace(new, cfg)
    assert load_credentials("ghcr.io", cfg) == Credentials("bob", "new")


def test_file_that_becomes_malformed_or_vanishes_is_an_error_again(tmp_path: Path) -> None:
    cfg = tmp_path / "config.json"
    _write(cfg, "carol", "pw")
    assert load_credentials("ghcr.io", cfg) == Credentials("carol", "pw")
    cfg.write_text("{not json")
    with pytest.raises(InputError, match="config.json"):
        load_credentials("ghcr.io", cfg)
    cfg.unlink()
    with pytest.raises(InputError, match="config.json"):
        load_credentials("ghcr.io", cfg)


def test_default_location_appearing_later_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert load_credentials("ghcr.io") is None
    _write(tmp_path / "config.json", "dave", "pw")
    assert load_credentials("ghcr.io") == Credentials("dave", "pw")
