"""actions-pinned on the real 506-file corpus (vendored in tests/assets/upstream/workflows, see SOURCES.md).

expected.json was produced independently (PyYAML node-tree extractor, cross-checked with zizmor 1.32.0):
the set of (file, line) of our unpinned-uses findings must equal its 354 remote refs whose
``pinned_full_sha`` is false, with zero disagreements, and the per-file counts must agree.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from verifier.checks.actions_pinned import check_files
from verifier.models import CheckResult
from verifier.sources.workflow_files import read_all

CORPUS = Path(__file__).resolve().parents[2] / "assets" / "upstream" / "workflows"
REMOTE = ("repository", "reusable-workflow")


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def results() -> dict[str, CheckResult]:
    files, found = read_all([str(CORPUS)])
    assert found.skipped == []
    out = check_files(files.rows())
    prefix = str(CORPUS) + "/"
    assert all(r.subject.startswith(prefix) for r in out)
    return {r.subject[len(prefix) :]: r for r in out}


def test_discovers_exactly_the_corpus_files(
    results: dict[str, CheckResult], expected: dict[str, Any]
) -> None:
    assert set(results) == set(expected["files"])
    assert len(results) == 506
    kinds = Counter(r.facts["kind"] for r in results.values())
    assert kinds == {"workflow": 455, "action": 51}
    for name, entry in expected["files"].items():
        assert results[name].facts["kind"] == entry["type"], name


def test_unpinned_uses_equal_expected_pairs(
    results: dict[str, CheckResult], expected: dict[str, Any]
) -> None:
    want = {
        (name, u["line"])
        for name, entry in expected["files"].items()
        for u in entry["uses"]
        if u["kind"] in REMOTE and u["pinned_full_sha"] is False
    }
    got = {
        (name, f.location.line)
        for name, r in results.items()
        for f in r.findings
        if f.rule == "unpinned-uses" and f.location is not None
    }
    assert len(want) == 354
    assert got - want == set()
    assert want - got == set()


def test_finding_details_match_expected(
    results: dict[str, CheckResult], expected: dict[str, Any]
) -> None:
    by_line = {
        (name, u["line"]): u for name, entry in expected["files"].items() for u in entry["uses"]
    }
    for name, r in results.items():
        for f in r.findings:
            if f.rule != "unpinned-uses":
                continue
            assert f.location is not None
            exp = by_line[(name, f.location.line)]
            assert f.location.column == exp["col"], (name, f.location)
            assert f.properties["value"] == exp["value"]
            assert f.properties["ref"] == exp["ref"]
            assert f.properties.get("job") == exp.get("job")
            assert f.properties.get("comment") == exp.get("comment"), (name, f.location)


def test_per_file_counts(results: dict[str, CheckResult], expected: dict[str, Any]) -> None:
    for name, entry in expected["files"].items():
        facts = results[name].facts
        kinds = Counter(u["kind"] for u in entry["uses"])
        assert facts["uses"] == len(entry["uses"]), name
        assert facts["remote"] == kinds["repository"] + kinds["reusable-workflow"], name
        assert facts["local"] == kinds["local"] + kinds["local-reusable-workflow"], name
        assert facts["docker"] == kinds["docker"], name
        assert facts["pinned"] == sum(1 for u in entry["uses"] if u["pinned_full_sha"] is True), (
            name
        )
        assert facts["images"] == len(entry["images"]), name


def test_images_match_expected(results: dict[str, CheckResult], expected: dict[str, Any]) -> None:
    # Digest-pinned images and local Dockerfiles are fine; every other image is an unpinned-image.
    want = {
        (name, i["line"])
        for name, entry in expected["files"].items()
        for i in entry["images"]
        if i["image_kind"] not in ("digest", "local-dockerfile")
    }
    want |= {
        (name, u["line"])
        for name, entry in expected["files"].items()
        for u in entry["uses"]
        if u["kind"] == "docker" and not u["docker_digest_pinned"]
    }
    got = {
        (name, f.location.line)
        for name, r in results.items()
        for f in r.findings
        if f.rule == "unpinned-image" and f.location is not None
    }
    assert got == want
    assert len(got) == 36


def test_no_errors_or_invalid_uses_on_real_files(results: dict[str, CheckResult]) -> None:
    assert [n for n, r in results.items() if r.verdict == "error"] == []
    rules = Counter(f.rule for r in results.values() for f in r.findings)
    assert rules["invalid-uses"] == 0 and rules["noncanonical-sha"] == 0
    # tj-actions/changed-files runs `./` after checking out the PR head repository (51 times).
    assert rules["local-action-checkout"] == 51


def test_every_file_keeps_its_expected_verdict(
    results: dict[str, CheckResult], expected: dict[str, Any]
) -> None:
    # expected.json's verdict per file: fail when a remote ref is not a full SHA or an image is not
    # pinned by digest, else pass. None of the 506 real files is refused as "not a workflow".
    verdicts: Counter[str] = Counter()
    for name, entry in expected["files"].items():
        unpinned = any(
            u["kind"] in REMOTE and u["pinned_full_sha"] is False for u in entry["uses"]
        ) or any(u["kind"] == "docker" and not u["docker_digest_pinned"] for u in entry["uses"])
        unpinned = unpinned or any(
            i["image_kind"] not in ("digest", "local-dockerfile") for i in entry["images"]
        )
        want = "fail" if unpinned else "pass"
        assert results[name].verdict == want, (name, results[name].facts)
        verdicts[want] += 1
    assert sum(verdicts.values()) == 506
