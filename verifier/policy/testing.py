"""Run a bundle's ``*_test.rego`` rules (``test_*``), the same way on any engine.

A test passes when its rule evaluates to ``true``; undefined, ``false`` or an error is a failure.
The engine is given as one function (``data.<pkg>.<rule>`` -> value or ``None``), so the test suite can
run the very same tests on real OPA and compare.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verifier.errors import PolicyError
from verifier.policy.engine import policy_files

_PACKAGE = re.compile(r"^package\s+([A-Za-z_][\w.]*)\s*$", re.MULTILINE)
_TEST_RULE = re.compile(r"^(test_\w+)\b", re.MULTILINE)


@dataclass(frozen=True)
class PolicyTest:
    """One test rule: its file, package and name."""

    path: Path
    package: str
    name: str

    @property
    def ref(self) -> str:
        """``data.<package>.<name>``."""
        return f"data.{self.package}.{self.name}"


@dataclass(frozen=True)
class TestOutcome:
    """Result of one test on one engine."""

    test: PolicyTest
    passed: bool
    detail: str = ""


def discover(policy_dir: Path) -> list[PolicyTest]:
    """Every ``test_*`` rule of every ``*_test.rego`` file (each name once per package)."""
    tests: list[PolicyTest] = []
    where: dict[str, Path] = {}
    for path in policy_files(policy_dir, tests=True):
        if not path.name.endswith("_test.rego"):
            continue
        source = path.read_text(encoding="utf-8")
        package = _PACKAGE.search(source)
        if package is None:
            raise PolicyError(f"{path}: no package declaration")
        seen: set[str] = set()
        for match in _TEST_RULE.finditer(source):
            if match.group(1) in seen:
                continue
            seen.add(match.group(1))
            test = PolicyTest(path, package.group(1), match.group(1))
            # Rego merges same-named rules across files: a failing test would hide behind a passing twin.
            if test.ref in where:
                raise PolicyError(
                    f"{path}: {test.ref} is also defined in {where[test.ref]}; "
                    "give each test file its own package (verifier_test.<check>)"
                )
            where[test.ref] = path
            tests.append(test)
    return tests


def run(tests: list[PolicyTest], evaluate: Callable[[str], Any]) -> list[TestOutcome]:
    """Evaluate each test with ``evaluate(ref)``; exceptions count as failures with their message."""
    outcomes = []
    for test in tests:
        try:
            value = evaluate(test.ref)
        except Exception as exc:  # an engine error fails this test, the others still run
            outcomes.append(TestOutcome(test, False, f"error: {exc}"))
            continue
        passed = value is True
        outcomes.append(TestOutcome(test, passed, "" if passed else f"evaluated to {value!r}"))
    return outcomes
