"""The JSON report written result by result is byte for byte the whole document formatted at once (the
way it was rendered before), on real check results, on the edge cases of the splice, and on generated
results."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import UPSTREAM
from verifier.config import parse_config
from verifier.models import CheckResult, Decision, Finding, Location, Severity
from verifier.output._common import ImageGroup, UpdatedValue, UpdateOutcome
from verifier.output.json import _ENCODER, ReportV1, render_json, write_json
from verifier.pipeline import evaluate

DENY = Decision(allowed=False, deny=("a", "b\nc"), warn=())


def _whole(
    decision: Decision,
    results: list[CheckResult],
    notices: tuple[str, ...] = (),
    images: tuple[ImageGroup, ...] = (),
    updates: UpdateOutcome | None = None,
) -> bytes:
    report = ReportV1.build(decision, results, notices, images, updates)
    return msgspec.json.format(_ENCODER.encode(report), indent=2) + b"\n"


def _streamed(
    decision: Decision,
    results: list[CheckResult],
    notices: tuple[str, ...] = (),
    images: tuple[ImageGroup, ...] = (),
    updates: UpdateOutcome | None = None,
) -> bytes:
    out = io.BytesIO()
    write_json(out, decision, results, notices, images, updates)
    return out.getvalue()


def test_real_results_of_every_file_check() -> None:
    config = parse_config(
        {
            "workflows": {"paths": [str(UPSTREAM / "workflows")]},
            "trust_policies": {"paths": [str(UPSTREAM / "trust-policies")]},
            "sarif": {
                "files": [str(p) for p in sorted((UPSTREAM / "sarif").rglob("*.sarif.json"))]
            },
        },
        "test",
    )
    evaluation = evaluate(config, now=datetime(2026, 12, 1, tzinfo=UTC))
    results = list(evaluation.results)
    assert len(results) > 500
    notices = tuple(evaluation.notices)
    assert _streamed(evaluation.decision, results, notices) == _whole(
        evaluation.decision, results, notices
    )
    assert render_json(evaluation.decision, results, notices).encode() == _whole(
        evaluation.decision, results, notices
    )


def test_splice_edge_cases() -> None:
    one = CheckResult(check="signature", subject="r@sha256:" + "a" * 64, verdict="pass")
    two = CheckResult(
        check="signature",
        subject='q "quoted"\n',
        verdict="fail",
        findings=(
            Finding(
                rule="unsigned",
                severity=Severity.HIGH,
                message="ünïcode ✓ \u2028 \ud7ff",
                location=Location(path="p", line=1),
                properties={"nested": {"list": [], "obj": {}}},
            ),
        ),
        facts={"results": [], "notices": '  "results": [],'},
    )
    updates = UpdateOutcome(True, (UpdatedValue("v.yaml", ".image.digest", "sha256:" + "a" * 64),))
    for results in ([], [one], [one, two], [two, two, two]):
        assert _streamed(DENY, results) == _whole(DENY, results), results
        groups = tuple(ImageGroup(f"i{n}", None, (r,)) for n, r in enumerate(results))
        args = (DENY, results, ("skipped x",), groups, updates)
        assert _streamed(*args) == _whole(*args), results


WORDS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | WORDS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(WORDS, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.builds(
            CheckResult,
            check=WORDS,
            subject=WORDS,
            verdict=st.sampled_from(["pass", "fail", "warn", "error"]),
            facts=st.dictionaries(WORDS, VALUES, max_size=4),
        ),
        max_size=4,
    ),
    st.lists(WORDS, max_size=2),
)
def test_generated_results(results: list[CheckResult], notices: list[str]) -> None:
    assert _streamed(DENY, results, tuple(notices)) == _whole(DENY, results, tuple(notices))


def test_an_unwritable_stream_is_not_swallowed(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    with path.open("wb") as out:
        write_json(out, DENY, [CheckResult(check="c", subject="s", verdict="pass")])
    assert msgspec.json.decode(path.read_bytes())["results"][0]["subject"] == "s"
