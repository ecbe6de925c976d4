"""Benchmark: `verifier audit` of the 40-repository workflow corpus plus the 53 trust configurations,
whole process, against the sum of zizmor (workflows) and checkov (trust policies) on the same inputs,
in the same run. Prints the ratio.

Peers are installed in a separate environment (never project dependencies):
    python3 -m venv /work/benchvenv && /work/benchvenv/bin/pip install zizmor checkov
Run:
    .venv/bin/python bench/bench_audit.py [--runs 3] [--peers /work/benchvenv/bin]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "real"
WORKFLOWS = (
    SHARED / "workflows"
    if (SHARED / "workflows").is_dir()
    else REPO / "tests/assets/upstream/workflows"
)
TRUST = (
    SHARED / "trust-policies"
    if (SHARED / "trust-policies").is_dir()
    else REPO / "tests/assets/upstream/trust-policies"
)


def timed(cmd: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--peers", default="/work/benchvenv/bin")
    args = parser.parse_args()
    verifier = [
        sys.executable,
        "-m",
        "verifier",
        "audit",
        str(WORKFLOWS),
        str(TRUST),
        "--report",
        "json",
        "-o",
        "/dev/null",
    ]
    ours = timed(verifier, args.runs)
    print(f"verifier audit (40 repos + 53 trust configs, json report): {ours:.2f} s")
    zizmor = shutil.which("zizmor", path=args.peers)
    checkov = shutil.which("checkov", path=args.peers)
    if not zizmor or not checkov:
        print(f"peers missing in {args.peers} (zizmor: {zizmor}, checkov: {checkov}); no ratio")
        return
    repos = sorted(str(p) for p in WORKFLOWS.iterdir() if p.is_dir())
    t_zizmor = timed([zizmor, "--offline", "--format", "json", *repos], args.runs)
    t_checkov = timed([checkov, "-d", str(TRUST), "-o", "json", "--quiet", "--compact"], args.runs)
    peers = t_zizmor + t_checkov
    print(
        f"zizmor --offline on the 40 repos: {t_zizmor:.2f} s; checkov -d on the trust corpus: {t_checkov:.2f} s"
    )
    print(f"ratio verifier / (zizmor + checkov) = {ours / peers:.3f}  ({peers / ours:.1f}x faster)")
    print(
        "note: checkov reads the raw corpus files as it finds them (it cannot parse bare IAM policy documents,"
        " GCP provider records or Graph-API credentials), so its share here is a lower bound on its real cost."
    )


if __name__ == "__main__":
    main()
