"""actions-pinned against zizmor, live, on zizmor's own test data (204 workflows and actions, vendored in
tests/assets/upstream/zizmor-test-data, see SOURCES.md there).

zizmor (PyPI ``zizmor``, pinned in the dev dependency group) is the oracle: each file is run through
``zizmor --offline --strict-collection --persona pedantic --no-ignores`` with a blanket hash-pin policy,
which is this check's default (every action pinned to a SHA, every image to a digest). For each file the
two must agree on whether it is a workflow/action at all (zizmor refuses it under ``--strict-collection``
exactly when this check gives verdict ``error``) and on the set of lines holding an unpinned action or
image (for a value taken from a matrix: the line of that matrix value). The three files where they differ
on purpose are listed with the reason, and must keep differing in exactly that way.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from verifier.checks.actions_pinned import check_text

DATA = Path(__file__).resolve().parents[2] / "assets" / "upstream" / "zizmor-test-data"
ZIZMOR = shutil.which("zizmor") or str(
    Path(__file__).resolve().parents[3] / ".venv" / "bin" / "zizmor"
)
HASH_PIN_EVERYTHING = (
    'rules:\n  unpinned-uses:\n    config:\n      policies:\n        "*": hash-pin\n'
)
PINNING_RULES = frozenset({"unpinned-uses", "unpinned-image", "invalid-uses"})

# file -> (zizmor's lines, ours, why they differ). Anything not listed must agree exactly.
DELIBERATE = {
    "obfuscation.yml": (
        [],
        [26],
        "`actions/cache/../../save@<sha>` climbs out of the repository: GitHub cannot resolve it "
        "(zizmor's own test calls it a broken use of ..), so it is invalid-uses here; zizmor's "
        "unpinned-uses only looks at the ref. The other five obfuscated paths are canonicalised and pass.",
    ),
    "unpinned-images.yml": (
        [23, 32, 40, 49, 57, 66, 101, 118, 126, 127, 128],
        [23, 32, 40, 49, 57, 66, 101, 110, 118, 126, 127, 128],
        "line 110 offers the image 'redis@sha256:...': that is not a digest (no 64 hex digits), so "
        "nothing pins it and no registry would serve it; zizmor accepts any '@sha256:' prefix.",
    ),
    "unpinned-uses/issue-1543-repro.yml": (
        [18],
        [17],
        "same finding, another location convention: a block scalar (`uses: |`) is located at its "
        "indicator here (line 17), at its content by zizmor (line 18).",
    ),
}


def _inputs() -> list[Path]:
    return sorted(p for p in DATA.rglob("*") if p.suffix in (".yml", ".yaml"))


def _run_zizmor(paths: list[Path], config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            ZIZMOR,
            "--offline",
            "--format",
            "json",
            "--no-progress",
            "--strict-collection",
            "--persona",
            "pedantic",
            "--no-ignores",
            "--config",
            str(config),
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _zizmor_lines(findings: list[dict[str, Any]]) -> dict[str, set[int]]:
    """Lines of zizmor's pinning findings per file (for a matrix value: the line of that value)."""
    lines: dict[str, set[int]] = {}
    for finding in findings:
        if finding["ident"] not in ("unpinned-uses", "unpinned-images"):
            continue
        locations: list[dict[str, Any]] = finding["locations"]
        expansion = [
            loc
            for loc in locations
            if (loc["symbolic"]["annotation"] or "").startswith("this expansion of matrix.")
        ]
        primary = [loc for loc in locations if loc["symbolic"]["kind"] == "Primary"]
        where = (expansion or primary)[0]
        path = where["symbolic"]["key"]["Local"]["verbatim_path"]
        lines.setdefault(path, set()).add(where["concrete"]["location"]["start_point"]["row"] + 1)
    return lines


def _ours(path: Path) -> list[int] | str:
    kind = "action" if path.name in ("action.yml", "action.yaml") else "workflow"
    result = check_text(str(path), kind, path.read_text(encoding="utf-8"))
    if result.verdict == "error":
        return "invalid"
    return sorted(
        {f.location.line for f in result.findings if f.rule in PINNING_RULES and f.location}
    )


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, Any]]:
    """file -> (zizmor's verdict, ours): "invalid" or the sorted lines of pinning findings.

    zizmor runs once over every file this check accepts: under --strict-collection that run fails if
    zizmor refuses any of them. Each file this check refuses gets its own strict run, which must fail.
    """
    config = tmp_path_factory.mktemp("zizmor") / "zizmor.yml"
    config.write_text(HASH_PIN_EVERYTHING)
    ours = {path: _ours(path) for path in _inputs()}
    accepted = [path for path, verdict in ours.items() if verdict != "invalid"]
    batch = _run_zizmor(accepted, config)
    assert batch.stdout.startswith("["), batch.stderr[-3000:]  # zizmor accepted every one of them
    lines = _zizmor_lines(json.loads(batch.stdout))
    theirs: dict[Path, Any] = {path: sorted(lines.get(str(path), ())) for path in accepted}
    with ThreadPoolExecutor(max_workers=4) as pool:
        refused = [path for path, verdict in ours.items() if verdict == "invalid"]
        for path, proc in zip(
            refused, pool.map(lambda p: _run_zizmor([p], config), refused), strict=True
        ):
            assert proc.returncode == 1 and not proc.stdout.startswith("["), path
            theirs[path] = "invalid"
    return {str(path.relative_to(DATA)): (theirs[path], verdict) for path, verdict in ours.items()}


def test_zizmor_is_the_pinned_version() -> None:
    out = subprocess.run([ZIZMOR, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "zizmor 1.32.0"


def test_agrees_with_zizmor_on_every_file_but_the_deliberate_three(
    verdicts: dict[str, tuple[Any, Any]],
) -> None:
    assert len(verdicts) == 204
    differ = {name: (z, ours) for name, (z, ours) in verdicts.items() if z != ours}
    assert differ == {name: (z, ours) for name, (z, ours, _why) in DELIBERATE.items()}


def test_both_refuse_the_same_files_as_not_workflows(
    verdicts: dict[str, tuple[Any, Any]],
) -> None:
    refused = sorted(name for name, (z, _ours) in verdicts.items() if z == "invalid")
    assert refused == [
        "invalid/bad-yaml-1.yml",
        "invalid/bad-yaml-2.yml",
        "invalid/blank.yml",
        "invalid/comment-only.yml",
        "invalid/empty-action/action.yml",
        "invalid/empty.yml",
        "invalid/invalid-action-1/action.yml",
        "invalid/invalid-action-2/action.yml",
        "invalid/invalid-workflow-2.yml",
        "invalid/invalid-workflow.yml",
        "invalid/issue-1395-repro-duplicate-mapping-keys.yml",
    ]
    assert all(verdicts[name][1] == "invalid" for name in refused)


@pytest.mark.parametrize(
    "name",
    [
        "unpinned-images/issue-2097-repro.yml",  # ${{ matrix.mysql || '' }} over a digest-pinned value
        "unpinned-images/urllib3-empty-matrix-container.yml",  # container: [''] + include entries
    ],
)
def test_images_whose_every_value_is_pinned_or_empty_pass_where_they_used_to_fail(
    verdicts: dict[str, tuple[Any, Any]], name: str
) -> None:
    zizmor, ours = verdicts[name]
    assert ours == zizmor
    path = DATA / name
    result = check_text(str(path), "workflow", path.read_text(encoding="utf-8"))
    images = [f for f in result.findings if f.rule == "unpinned-image"]
    # Only the values that really are unpinned are reported, each at its line in the matrix.
    assert all(f.properties.get("via_matrix") for f in images)
    assert all(f.properties["image_kind"] != "expression" for f in images)
