"""``verifier policy ...``: work with the Rego bundle."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from verifier.errors import EXIT_DENIED


@click.group("policy")
def group() -> None:
    """Work with the Rego policy bundle."""


@group.command("test")
@click.argument(
    "directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option("-v", "--verbose", is_flag=True, help="List every test, not only failures.")
def test_command(directory: Path | None, verbose: bool) -> None:
    """Run the bundle's *_test.rego files (test_* rules) on the embedded engine.

    DIRECTORY defaults to the bundled policies. Exit 0 when all pass, 1 when any fails.
    """
    from verifier.policy import testing
    from verifier.policy.engine import default_policy_dir
    from verifier.policy.regorus_engine import RegorusEngine

    policy_dir = directory or default_policy_dir()
    engine = RegorusEngine.for_bundle(policy_dir, tests=True)
    tests = testing.discover(policy_dir)
    if not tests:
        click.echo(f"{policy_dir}: no test_* rules found in *_test.rego files", err=True)
        sys.exit(EXIT_DENIED)
    outcomes = testing.run(tests, engine.eval_rule)
    failed = [o for o in outcomes if not o.passed]
    for outcome in outcomes:
        if verbose or not outcome.passed:
            status = "PASS" if outcome.passed else "FAIL"
            detail = f" ({outcome.detail})" if outcome.detail else ""
            click.echo(f"{status} {outcome.test.path.name}: {outcome.test.ref}{detail}")
    click.echo(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    sys.exit(EXIT_DENIED if failed else 0)
