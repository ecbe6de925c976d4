"""A directory that cannot be listed is never skipped silently (os.walk's default), in every reader that walks.

These tests run as root in CI, where permission bits do not stop listing, so the OS error is injected by
replacing ``os.scandir`` for one directory (a stand-in for EACCES on a real file system; everything else
in the walk is real).
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from verifier.adapters.cli import main
from verifier.errors import InputError, PolicyError
from verifier.policy.engine import bundle_digest, default_policy_dir, policy_files
from verifier.sources.files import walk
from verifier.sources.trust_policy_files import load_configs
from verifier.sources.workflow_files import read_all

WORKFLOW = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n"
TRUST = Path(__file__).parents[2] / "assets" / "upstream" / "trust-policies"


def _unlistable(monkeypatch: pytest.MonkeyPatch, blocked: Path) -> None:
    real: Callable[..., Any] = os.scandir

    def scandir(path: Any = ".") -> Any:
        if os.path.abspath(os.fspath(path)) == str(blocked.resolve()):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_walk_raises_naming_the_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "z").mkdir()
    _unlistable(monkeypatch, tmp_path / "a" / "b")
    with pytest.raises(InputError) as info:
        list(walk(str(tmp_path)))
    assert info.value.path == str(tmp_path / "a" / "b")
    assert "cannot list directory: Permission denied" in str(info.value)
    seen: list[tuple[str, str]] = []
    dirs = [d for d, _, _ in walk(str(tmp_path), lambda path, why: seen.append((path, why)))]
    assert dirs == [
        str(tmp_path),
        str(tmp_path / "a"),
        str(tmp_path / "z"),
    ]  # sorted, the rest still walked
    assert seen == [(str(tmp_path / "a" / "b"), "cannot list directory: Permission denied")]


def test_workflow_directory_that_cannot_be_listed_is_an_error_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before, it was listed as "skipped" on stderr and the check passed on the files it could see."""
    readable = tmp_path / "app" / ".github" / "workflows"
    blocked = tmp_path / "lib" / ".github" / "workflows"
    readable.mkdir(parents=True)
    blocked.mkdir(parents=True)
    (readable / "ci.yml").write_text(WORKFLOW)
    (blocked / "release.yml").write_text(WORKFLOW)
    _unlistable(monkeypatch, blocked)
    files, found = read_all([str(tmp_path)])
    assert [(path, text is None, problem) for path, _kind, text, problem in files.rows()] == [
        (str(readable / "ci.yml"), False, None),
        (str(blocked), True, "cannot list directory: Permission denied"),
    ]
    assert found.skipped == []
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "actions", str(tmp_path), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert exit_info.value.code == 1  # denied, as for a file that cannot be read
    verdicts = {r["subject"]: r["verdict"] for r in report["results"]}
    assert verdicts == {str(readable / "ci.yml"): "pass", str(blocked): "error"}
    assert report["decision"]["allowed"] is False


def test_trust_policy_directory_that_cannot_be_listed_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = next(
        p
        for p in sorted(TRUST.rglob("*.json"))
        if "token.actions.githubusercontent.com" in p.read_text()
    )
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "role.json").write_bytes(source.read_bytes())
    (tmp_path / "secret").mkdir()
    _unlistable(monkeypatch, tmp_path / "secret")
    with pytest.raises(InputError) as info:
        load_configs([str(tmp_path)])
    assert info.value.path == str(tmp_path / "secret") and info.value.exit_code == 2


def test_policy_bundle_subdirectory_that_cannot_be_listed_is_a_policy_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A skipped subdirectory could hold deny rules: the bundle must not load without it."""
    bundle = tmp_path / "bundle"
    (bundle / "extra").mkdir(parents=True)
    for rego in default_policy_dir().glob("*.rego"):
        (bundle / rego.name).write_bytes(rego.read_bytes())
    _unlistable(monkeypatch, bundle / "extra")
    with pytest.raises(PolicyError, match="extra: cannot list directory"):
        policy_files(bundle)


def test_policy_bundle_mounted_from_a_configmap_is_read_once(tmp_path: Path) -> None:
    """A ConfigMap volume: files live in a hidden timestamped directory, reached through ``..data`` and shown
    as symlinks at the top. Every policy is read once (through its top-level name), and the digest equals
    the same bundle's as plain files."""
    bundle = tmp_path / "mounted"
    stamp = bundle / "..2026_11_26_15_00_00.123456789"
    stamp.mkdir(parents=True)
    names = sorted(p.name for p in default_policy_dir().glob("*.rego"))
    for name in names:
        (stamp / name).write_bytes((default_policy_dir() / name).read_bytes())
    (bundle / "..data").symlink_to(stamp.name)
    for name in names:
        (bundle / name).symlink_to(Path("..data") / name)
    files = policy_files(bundle, tests=True)
    assert [p.name for p in files] == names and all(p.parent == bundle for p in files)
    plain = tmp_path / "plain"
    plain.mkdir()
    for name in names:
        (plain / name).write_bytes((default_policy_dir() / name).read_bytes())
    assert bundle_digest(bundle) == bundle_digest(plain)
