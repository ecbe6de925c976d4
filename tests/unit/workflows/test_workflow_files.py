"""File discovery and reading for actions-pinned (verifier.sources.workflow_files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from verifier.errors import InputError
from verifier.sources.files import MIB
from verifier.sources.workflow_files import discover, read_all, read_workflow

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "actions-pinned"


def rel(paths: list[tuple[str, str]], root: Path) -> list[tuple[str, str]]:
    return [(os.path.relpath(p, root), k) for p, k in paths]


def test_repo_root_discovery_and_skips() -> None:
    root = ASSETS / "repo"
    found = discover([str(root)])
    assert rel(found.files, root) == [
        (".github/actions/setup/action.yml", "action"),
        (".github/workflows/ci.yml", "workflow"),
        (".github/workflows/release.yaml", "workflow"),
        ("tools/docker/action.yaml", "action"),
    ]
    assert [(os.path.relpath(p, root), why) for p, why in found.skipped] == [
        (
            ".github/workflows/templates",
            "subdirectory of .github/workflows (GitHub only reads top-level files)",
        ),
        (".github/workflows/README.md", "not a .yml/.yaml file"),
    ]


def test_paths_are_the_given_path_joined_not_absolute() -> None:
    here = Path.cwd()
    os.chdir(ASSETS)
    try:
        found = discover(["repo/.github"])
        assert found.files[0] == ("repo/.github/actions/setup/action.yml", "action")
        found = discover(["repo/.github/workflows"])
        assert [p for p, _ in found.files] == [
            "repo/.github/workflows/ci.yml",
            "repo/.github/workflows/release.yaml",
        ]
        found = discover(["./repo/.github/workflows/release.yaml"])
        assert found.files == [("./repo/.github/workflows/release.yaml", "workflow")]
    finally:
        os.chdir(here)


def test_explicit_files_are_always_read_and_deduplicated(tmp_path: Path) -> None:
    odd = tmp_path / "odd-name.txt"
    odd.write_text("jobs: {}\n")
    action = tmp_path / "action.yaml"
    action.write_text("runs: {using: node20}\n")
    found = discover([str(odd), str(action), str(odd), str(tmp_path)])
    assert found.files == [(str(odd), "workflow"), (str(action), "action")]


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        discover([str(tmp_path / "nope")])
    assert err.value.path == str(tmp_path / "nope") and "no such file" in err.value.problem


def test_vendored_dirs_are_skipped_and_said(tmp_path: Path) -> None:
    (tmp_path / "node_modules" / "dep").mkdir(parents=True)
    (tmp_path / "node_modules" / "dep" / "action.yml").write_text("runs: {using: composite}\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "action.yml").write_text("runs: {using: composite}\n")
    found = discover([str(tmp_path)])
    assert found.files == [(str(tmp_path / "a" / "action.yml"), "action")]
    assert sorted(os.path.basename(p) for p, _ in found.skipped) == [".git", "node_modules"]


def test_symlinked_directory_loop_is_not_followed(tmp_path: Path) -> None:
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "a.yml").write_text("jobs: {}\n")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    found = discover([str(tmp_path)])
    assert found.files == [(str(wf / "a.yml"), "workflow")]


def test_bad_files_come_back_as_problems_and_the_rest_is_read(tmp_path: Path) -> None:
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "a-junk.yml").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)) * 4)
    (wf / "b-latin1.yml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    (wf / "c-bom.yml").write_bytes(b"\xef\xbb\xbfjobs: {}\n")
    (wf / "d-good.yml").write_text("jobs: {}\n")
    files, _found = read_all([str(tmp_path)])
    assert [f.text for f in files] == [None] * 4  # listed, not read
    rows = list(files.rows())
    got = [(os.path.basename(path), text is not None, problem) for path, _k, text, problem in rows]
    assert got == [
        ("a-junk.yml", False, "binary file (contains NUL bytes), not YAML text"),
        ("b-latin1.yml", False, "not UTF-8 text (byte 9)"),
        ("c-bom.yml", True, None),
        ("d-good.yml", True, None),
    ]
    assert rows[2][2] == "jobs: {}\n"  # BOM removed


def test_fifty_megabyte_file_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yml"
    with open(big, "wb") as fh:
        fh.write(b"jobs:\n  j:\n    steps:\n")
        fh.write(b"      - uses: a/b@v1\n" * (50 * MIB // 21))
    assert big.stat().st_size > 50 * MIB - 100
    wf = read_workflow(str(big), "workflow")
    assert wf.text is None
    assert wf.problem is not None and "over the limit of 4.0 MiB" in wf.problem


def test_action_yml_inside_workflows_dir_is_a_workflow(tmp_path: Path) -> None:
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "action.yml").write_text("jobs: {}\n")
    assert discover([str(tmp_path)]).files == [(str(wf / "action.yml"), "workflow")]
    assert discover([str(wf / "action.yml")]).files == [(str(wf / "action.yml"), "workflow")]


def test_special_file_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file or directory"):
        discover([str(fifo)])
