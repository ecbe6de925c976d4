"""A long fuzz campaign: the bounded fuzz tests (test_fuzz_cli.py: the CLI entry points; test_fuzz_admission.py:
AdmissionReview bodies; test_fuzz_registry.py: registry answers), run again and again with fresh random seeds
and many more examples until a time budget is spent, then the totals.

    .venv/bin/python -m tests.fuzz.campaign --minutes 20 [--examples 2000] [-k sarif] [--nice 10]

Each round is one pytest run (``VERIFIER_FUZZ_CAMPAIGN=1``: not derandomised, so every round explores new
inputs) in one process at a lowered CPU priority (``--nice``: the machine is shared); hypothesis' statistics
give the examples tried per test. A failing round's report is kept in ``fuzz-campaign-<round>.log`` in the
working directory; the totals are printed at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FUZZ_FILES = ("test_fuzz_cli.py", "test_fuzz_admission.py", "test_fuzz_registry.py")
# "  - 3000 passing, 0 failing, and 294 invalid test cases" under "tests/fuzz/test_fuzz_cli.py::test_x:"
_TEST = re.compile(r"^tests/fuzz/test_fuzz_\w+\.py::(\w+):$")
_COUNTS = re.compile(r"^\s+- (\d+) passing, (\d+) failing, and (\d+) invalid test cases$")


def _round(examples: int, selection: str | None) -> tuple[Counter[str], str, int]:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--hypothesis-show-statistics",
    ]
    cmd += [str(HERE / name) for name in FUZZ_FILES] + (["-k", selection] if selection else [])
    env = {**os.environ, "VERIFIER_FUZZ_CAMPAIGN": "1", "VERIFIER_FUZZ_EXAMPLES": str(examples)}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    counts: Counter[str] = Counter()
    test = ""
    for line in proc.stdout.splitlines():
        if m := _TEST.match(line):
            test = m.group(1)
        elif (m := _COUNTS.match(line)) and test:
            counts[f"{test} passing"] += int(m.group(1))
            counts[f"{test} failing"] += int(m.group(2))
            counts[f"{test} invalid"] += int(m.group(3))
    return counts, proc.stdout + proc.stderr, proc.returncode


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main() -> int:
    """Run rounds until the budget is spent; print the totals; exit 1 if any round found a failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--examples", type=int, default=2000, help="examples per test and round")
    parser.add_argument("-k", dest="selection", help="pytest -k selection of fuzz tests")
    parser.add_argument("--nice", type=int, default=10, help="lower the CPU priority by this much")
    args = parser.parse_args()
    if args.nice:
        os.nice(args.nice)  # inherited by every round
    started = time.monotonic()
    totals: Counter[str] = Counter()
    failed_rounds: list[int] = []
    rounds = 0
    while time.monotonic() - started < args.minutes * 60:
        rounds += 1
        counts, output, code = _round(args.examples, args.selection)
        totals.update(counts)
        if code != 0:
            failed_rounds.append(rounds)
            Path(f"fuzz-campaign-{rounds}.log").write_text(output, encoding="utf-8")
        _say(
            f"round {rounds}: exit {code}, {sum(v for k, v in counts.items() if not k.endswith('invalid'))} inputs"
        )
    minutes = (time.monotonic() - started) / 60
    _say(f"\n{rounds} rounds in {minutes:.1f} min; rounds with failures: {failed_rounds or 'none'}")
    for test in sorted({k.rsplit(" ", 1)[0] for k in totals}):
        tried = totals[f"{test} passing"] + totals[f"{test} failing"]
        _say(
            f"  {test:36} {tried:>8} inputs  {totals[f'{test} failing']:>4} failing  "
            f"{totals[f'{test} invalid']:>6} set aside"
        )
    tried = sum(v for k, v in totals.items() if not k.endswith("invalid"))
    _say(f"  {'total':36} {tried:>8} inputs")
    return 1 if failed_rounds else 0


if __name__ == "__main__":
    sys.exit(main())
