"""Every case of ../shared/real/provenance/expected.json gives the upstream outcome, with the upstream error
class where one is named, and docs/checks/provenance.md tabulates exactly these results."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.checks.provenance_cases import (
    REPO,
    agrees,
    case_id,
    cases,
    expected_of,
    run_case,
    run_vectors,
    table,
)

CASES = list(cases())
DOCS = REPO / "docs" / "checks" / "provenance.md"
TABLE_START = "<!-- expected-cases:start -->"
TABLE_END = "<!-- expected-cases:end -->"


def test_all_138_cases_are_replayed() -> None:
    assert len(CASES) == 138


@pytest.mark.parametrize(
    ("group", "case"),
    [(g, c) for g, _, c in CASES],
    ids=[case_id(g, i, c) for g, i, c in CASES],
)
def test_case_gives_the_upstream_outcome(group: str, case: dict[str, Any]) -> None:
    got = run_case(group, case)
    want, error = expected_of(case)
    assert agrees(group, case, got), (want, error, got)
    assert not got.outcome.startswith("MIXED"), got


def test_every_in_toto_vector_agrees() -> None:
    results = run_vectors()
    assert len(results) == 26
    for vector, got in results:
        expect = str(vector["expect"])
        assert got == expect or (got == "VALID" and expect.startswith("VALID")), (vector, got)


def test_docs_table_is_current() -> None:
    text = DOCS.read_text()
    start = text.index(TABLE_START) + len(TABLE_START)
    end = text.index(TABLE_END)
    assert text[start:end].strip() == table().strip(), (
        "docs/checks/provenance.md is stale: regenerate with python tests/unit/checks/provenance_cases.py"
    )
