"""`--fail-on` / `fail_on` read as a threshold, as grype and Trivy users read it (issue 14).

Before: `--fail-on low,medium` was a set, so a report with 13 critical findings passed without a word.
"""

from __future__ import annotations

import itertools

import pytest

from tests.conftest import UPSTREAM
from verifier.checks import sarif_severity
from verifier.checks.sarif_severity import SCANNER_LEVELS, fail_on_levels
from verifier.models import Severity
from verifier.sources.scan_reports import load_scan_report

C, H, M, L, U = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.UNKNOWN)
# Real Trivy 0.49.1 SARIF run with --severity CRITICAL,HIGH: 13 critical, 8 high, nothing else.
CRITICAL_HIGH = UPSTREAM / "sarif" / "trivy" / "austimkelly-trivy-0.49.1-critical-high.sarif.json"


@pytest.mark.parametrize(
    ("value", "levels"),
    [
        ("critical", (C,)),
        ("high", (C, H)),
        ("medium", (C, H, M)),
        ("low", (C, H, M, L)),
        ("unknown", (C, H, M, L, U)),
        ("HIGH", (C, H)),
        (" High ", (C, H)),
        ("critical,high", (C, H)),
        ("high,critical", (C, H)),
        ("critical, high,medium", (C, H, M)),
        ("critical,high,high", (C, H)),
        ("critical,,high,", (C, H)),
        (["critical", "high"], (C, H)),
        (("medium",), (C, H, M)),  # one level in a list is a threshold too: it adds, never drops
        ([Severity.HIGH], (C, H)),
        (["critical", "high", "medium", "low", "unknown"], (C, H, M, L, U)),
    ],
)
def test_threshold_and_closed_lists(value: str | list[str], levels: tuple[Severity, ...]) -> None:
    assert fail_on_levels(value) == levels


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("low,medium", "leaves out the more severe high, critical"),
        (["critical", "medium"], "leaves out the more severe high;"),
        (["critical,medium"], "leaves out the more severe high;"),
        ("high,low", "leaves out the more severe medium, critical"),
        ("critical,unknown", "leaves out the more severe low, medium, high;"),
        ("severe", "expected critical, high, medium, low or unknown; got severe"),
        ("high,severe", "got severe$"),
        ("info", "got info"),
        ("", "name a severity"),
        (" , ", "name a severity"),
        ([], "name a severity"),
    ],
)
def test_lists_with_holes_and_unknown_words_are_errors(
    value: str | list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        fail_on_levels(value)


def test_hole_message_says_what_to_write() -> None:
    with pytest.raises(ValueError) as info:
        fail_on_levels("low,medium")
    assert str(info.value) == (
        "fail_on: low, medium leaves out the more severe high, critical; give the threshold alone "
        "(low means low and above)"
    )


def test_every_accepted_list_equals_the_threshold_of_its_least_severe_level() -> None:
    """Metamorphic: over every non-empty subset, a list is accepted iff it is upward closed, and then it
    means exactly the threshold of its least severe member."""
    for size in range(1, len(SCANNER_LEVELS) + 1):
        for subset in itertools.combinations(SCANNER_LEVELS, size):
            least = min(subset, key=lambda s: s.rank)
            threshold = fail_on_levels(least.value)
            closed = set(subset) == set(threshold)
            if closed or size == 1:
                assert fail_on_levels([s.value for s in subset]) == threshold
            else:
                with pytest.raises(ValueError):
                    fail_on_levels([s.value for s in subset])


def test_lower_threshold_never_denies_less() -> None:
    """Metamorphic: moving the threshold down can only add failing findings."""
    report = load_scan_report(
        UPSTREAM / "sarif" / "trivy" / "ratify-trivy-alpine-critical.sarif.json"
    )
    failing = [
        sarif_severity.evaluate(report, "r", fail_on=level.value).facts["failing"]
        for level in SCANNER_LEVELS
    ]
    assert failing == sorted(failing)
    assert failing == [4, 33, 43, 45, 45]


def test_the_reported_hole_no_longer_passes() -> None:
    """13 critical and 8 high findings: `high` denies them; `low,medium` is refused instead of allowing."""
    report = load_scan_report(CRITICAL_HIGH)
    result = sarif_severity.evaluate(report, "r", fail_on="high")
    assert (result.verdict, result.facts["failing"]) == ("fail", 21)
    assert result.facts["fail_on"] == ["critical", "high"]
    with pytest.raises(ValueError):
        sarif_severity.evaluate(report, "r", fail_on="low,medium")
    assert sarif_severity.evaluate(report, "r", fail_on="low").facts["failing"] == 21
