"""The policy bundle on both engines: regorus (embedded default) and real OPA in-process.

OPA runs through opa-golib-python-bindings (a test-only install). Any difference between the engines,
in the bundle's own tests or in decisions on real check results, fails the suite.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from opa_bindings import OpaEngine, OpaUndefinedError

from tests.conftest import UPSTREAM
from verifier.checks import sarif_severity
from verifier.errors import PolicyError
from verifier.models import Severity
from verifier.policy import testing
from verifier.policy.engine import build_input, decision_from_sets, default_policy_dir, policy_files
from verifier.policy.regorus_engine import RegorusEngine
from verifier.sources.scan_reports import load_scan_report

POLICIES = default_policy_dir()
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def opa() -> Any:
    engine = OpaEngine()
    for path in policy_files(POLICIES, tests=True):
        engine.add_policy(str(path), path.read_text(encoding="utf-8"))
    yield engine
    engine.close()


def opa_eval(engine: Any, ref: str, input_doc: Any = None) -> Any:
    try:
        return engine.eval_document(ref.removeprefix("data."), input_doc)
    except OpaUndefinedError:
        return None


def test_bundle_tests_pass_on_both_engines_identically(opa: Any) -> None:
    tests = testing.discover(POLICIES)
    assert len(tests) >= 9
    regorus_outcomes = testing.run(tests, RegorusEngine.for_bundle(POLICIES, tests=True).eval_rule)
    opa_outcomes = testing.run(tests, lambda ref: opa_eval(opa, ref))
    on_regorus = {o.test.ref: o.passed for o in regorus_outcomes}
    on_opa = {o.test.ref: o.passed for o in opa_outcomes}
    assert on_regorus == on_opa, "engines disagree"
    failed = [f"{o.test.ref}: {o.detail}" for o in regorus_outcomes if not o.passed]
    assert not failed


@pytest.mark.parametrize(
    "report",
    sorted(
        p.relative_to(UPSTREAM / "sarif").as_posix() for p in (UPSTREAM / "sarif").rglob("*.json")
    ),
)
@pytest.mark.parametrize("fail_on", [("critical", "high"), ("medium",)])
def test_decisions_agree_on_real_reports(opa: Any, report: str, fail_on: tuple[str, ...]) -> None:
    result = sarif_severity.evaluate(
        load_scan_report(UPSTREAM / "sarif" / report),
        report,
        fail_on=[Severity(s) for s in fail_on],
    )
    input_doc = build_input([result], {"sarif-severity": {"fail_on": list(fail_on)}}, NOW)
    embedded = RegorusEngine.for_bundle(POLICIES).evaluate(input_doc)
    reference = decision_from_sets(
        opa_eval(opa, "verifier.deny", input_doc), opa_eval(opa, "verifier.warn", input_doc)
    )
    assert embedded == reference
    assert embedded.allowed == (result.verdict == "pass")


def test_input_document_is_json_and_time_is_utc_z() -> None:
    doc = build_input([], {"x": 1}, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert doc["now"] == "2026-01-02T03:04:05Z"
    assert json.loads(json.dumps(doc)) == doc


def test_invalid_rego_is_a_policy_error(tmp_path: Path) -> None:
    (tmp_path / "bad.rego").write_text("package verifier\ndeny contains msg if {\n")
    with pytest.raises(PolicyError, match="bad.rego: invalid Rego"):
        RegorusEngine.for_bundle(tmp_path)


def test_pre_v1_syntax_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "old.rego").write_text('package verifier\ndeny[msg] { msg := "x" }\n')
    with pytest.raises(PolicyError):
        RegorusEngine.for_bundle(tmp_path)


def test_non_string_deny_is_refused() -> None:
    with pytest.raises(PolicyError, match="non-string"):
        decision_from_sets([1], [])


def test_duplicate_test_names_across_files_are_refused(tmp_path: Path) -> None:
    for name in ("a_test.rego", "b_test.rego"):
        (tmp_path / name).write_text("package verifier_test\n\ntest_same if { true }\n")
    (tmp_path / "p.rego").write_text("package verifier\n")
    with pytest.raises(PolicyError, match="also defined"):
        testing.discover(tmp_path)


def test_one_engine_decides_from_many_threads() -> None:
    """regorus engines are unsendable: one RegorusEngine must still serve every thread (webhook workers)."""
    from concurrent.futures import ThreadPoolExecutor

    from verifier.models import CheckResult

    engine = RegorusEngine.for_bundle(POLICIES)
    failing = CheckResult(
        check="sarif-severity",
        subject="s",
        verdict="fail",
        facts={"unwaived": {"critical": 1}, "waived": 0, "degraded": 0},
    )
    doc = build_input([failing], {}, NOW)
    with ThreadPoolExecutor(max_workers=4) as pool:
        decisions = list(pool.map(lambda _: engine.evaluate(doc), range(16)))
    assert all(not d.allowed for d in decisions)
    assert len({d.deny for d in decisions}) == 1
