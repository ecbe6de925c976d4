"""The policy input the pipeline hands the engine as JSON text (encoded result by result) is the document
``build_input`` builds — the one ``--explain`` and ``--input-json`` show — on real results of every check
that reads files, on the demo's image checks, and on generated results; and the decision is the same."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import REPO, UPSTREAM
from verifier.config import load_config, parse_config
from verifier.models import CheckResult, Finding, Location, Severity
from verifier.pipeline import evaluate, run_checks
from verifier.pipeline.decide import decide, decision_for
from verifier.policy.engine import build_input, input_json

NOW = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


def _same(results: list[CheckResult], config: dict[str, object]) -> None:
    assert json.loads(input_json(results, config, NOW)) == json.loads(
        json.dumps(build_input(results, config, NOW))
    )


def test_real_results_and_the_same_decision() -> None:
    config = parse_config(
        {
            "workflows": {"paths": [str(UPSTREAM / "workflows")], "mode": "warn"},
            "trust_policies": {"paths": [str(UPSTREAM / "trust-policies")]},
            "sarif": {
                "files": [str(p) for p in sorted((UPSTREAM / "sarif").rglob("*.sarif.json"))]
            },
        },
        "test",
    )
    run = run_checks(config, now=NOW)
    results = list(run.results)
    assert {r.check for r in results} == {"actions-pinned", "oidc-trust", "sarif-severity"}
    _same(results, run.policy_config)
    decision, _ = decide(results, run.policy_config, now=NOW)
    assert decision_for(results, run.policy_config, now=NOW) == decision
    evaluation = evaluate(config, now=NOW)
    assert evaluation.decision == decision
    assert evaluation.policy_input == build_input(results, run.policy_config, NOW)


def test_demo_image_checks() -> None:
    evaluation = evaluate(load_config(REPO / "fixtures" / "demo" / "verifier.yaml"), now=NOW)
    assert any(r.check == "signature" for r in evaluation.results)
    _same(list(evaluation.results), evaluation.policy_config)


WORDS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=10)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | WORDS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(WORDS, inner, max_size=3),
    max_leaves=10,
)
FINDINGS = st.builds(
    Finding,
    rule=WORDS,
    severity=st.sampled_from(list(Severity)),
    message=WORDS,
    location=st.none() | st.builds(Location, path=WORDS),
    waived=st.booleans(),
    properties=st.dictionaries(st.sampled_from(["kind", "other"]), VALUES, max_size=2),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.builds(
            CheckResult,
            check=WORDS,
            subject=WORDS,
            verdict=st.sampled_from(["pass", "fail", "warn", "error"]),
            findings=st.lists(FINDINGS, max_size=3).map(tuple),
            facts=st.dictionaries(WORDS, VALUES, max_size=3),
        ),
        max_size=4,
    ),
    st.dictionaries(WORDS, st.dictionaries(WORDS, VALUES, max_size=2), max_size=2),
)
def test_generated_results(results: list[CheckResult], config: dict[str, object]) -> None:
    _same(results, config)
