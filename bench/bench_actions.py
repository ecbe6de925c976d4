"""Whole-process time of ``verifier check actions`` vs ``zizmor --offline --format json`` on the same corpus.

Both tools are run as separate processes, alternately, several times in the same run; the best and the
median wall-clock times are reported with the ratio verifier / zizmor (target: at most 0.5).

    python bench/bench_actions.py [--corpus ../shared/real/workflows] [--runs 7]
        [--zizmor /work/benchvenv/bin/zizmor] [--verifier-python /work/venv/bin/python]

zizmor (PyPI ``zizmor``) lives in a separate bench environment (``/work/benchvenv``), never in the
project's dependencies. zizmor runs every offline audit; verifier runs only its pinning check, which is
the comparison the issue asks for (zizmor has no way to run one audit alone on the command line).
Exit codes are not treated as failures (both tools exit non-zero when they find problems), but a tool
that produces no output is.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "real" / "workflows"
FALLBACK_CORPUS = REPO / "tests" / "assets" / "upstream" / "workflows"


CPU_TIMES: dict[str, list[float]] = {}


def timed(
    cmd: list[str], env: dict[str, str] | None = None, label: str | None = None
) -> tuple[float, bytes, int]:
    """Run ``cmd`` and return (wall seconds, stdout, returncode); record its CPU time (user + sys of the
    child) under ``label``. CPU time is less sensitive than wall time to other load on the machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if label:
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        CPU_TIMES.setdefault(label, []).append(cpu)
    return elapsed, proc.stdout, proc.returncode


def main() -> int:
    """Run the benchmark and print the ratio."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS if DEFAULT_CORPUS.is_dir() else FALLBACK_CORPUS,
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--zizmor", default="/work/benchvenv/bin/zizmor")
    parser.add_argument("--verifier-python", default=sys.executable)
    parser.add_argument("--format", default="json", choices=("json", "table"))
    args = parser.parse_args()

    corpus = str(args.corpus)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    verifier_cmd = [
        args.verifier_python,
        "-m",
        "verifier",
        "check",
        "actions",
        corpus,
        "--format",
        args.format,
        "--quiet-skips",
    ]
    zizmor_cmd = [args.zizmor, "--offline", "--format", "json", "--no-progress", corpus]
    if not Path(args.zizmor).exists():
        print(
            f"zizmor not found at {args.zizmor}: python3 -m venv /work/benchvenv && "
            "/work/benchvenv/bin/pip install zizmor",
            file=sys.stderr,
        )
        return 2
    version = subprocess.run(
        [args.zizmor, "--version"], capture_output=True, text=True, check=False
    )

    # Warm-up (page cache, .pyc files), and a sanity check of both outputs.
    _t, out, rc = timed(verifier_cmd, env)
    report = json.loads(out) if args.format == "json" else None
    if rc not in (0, 1):
        print(f"verifier exited {rc}", file=sys.stderr)
        return 2
    _t, zout, zrc = timed(zizmor_cmd)
    zfindings = json.loads(zout)
    if report is not None:
        n_unpinned = sum(
            1 for r in report["results"] for f in r["findings"] if f["rule"] == "unpinned-uses"
        )
        print(f"verifier: {len(report['results'])} files, {n_unpinned} unpinned-uses (exit {rc})")
    z_unpinned = sum(1 for f in zfindings if f.get("ident") == "unpinned-uses")
    print(
        f"{version.stdout.strip()}: {len(zfindings)} findings, {z_unpinned} unpinned-uses (exit {zrc})"
    )

    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(args.runs):
        ours.append(timed(verifier_cmd, env, "verifier")[0])
        theirs.append(timed(zizmor_cmd, None, "zizmor")[0])

    def show(name: str, times: list[float]) -> None:
        print(
            f"{name:<10} best {min(times):.3f} s  median {statistics.median(times):.3f} s  "
            f"({', '.join(f'{t:.3f}' for t in times)})"
        )

    print(f"corpus: {corpus}, {args.runs} alternating runs, {os.cpu_count()} CPUs")
    show("verifier", ours)
    show("zizmor", theirs)
    print(
        f"ratio verifier/zizmor (wall): best {min(ours) / min(theirs):.2f}  "
        f"median {statistics.median(ours) / statistics.median(theirs):.2f}  (target <= 0.5)"
    )
    cpu_ours, cpu_theirs = CPU_TIMES["verifier"], CPU_TIMES["zizmor"]
    print(
        f"cpu (user+sys): verifier median {statistics.median(cpu_ours):.3f} s, zizmor median "
        f"{statistics.median(cpu_theirs):.3f} s, ratio {statistics.median(cpu_ours) / statistics.median(cpu_theirs):.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
