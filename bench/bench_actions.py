"""`verifier check actions`: time against zizmor, peak memory at 1x and Nx the corpus, the collector pause.

    python bench/bench_actions.py [--corpus ../shared/real/workflows] [--runs 7] [--scale 50]
        [--what time memory gc] [--zizmor PATH] [--verifier-python PATH]

- time: the whole ``verifier check actions`` process against ``zizmor --offline --format json`` on the
  same corpus, alternately, several times in the same run; best and median wall-clock times and the ratio
  verifier / zizmor (target: at most 0.5). zizmor (PyPI ``zizmor``, in the dev dependency group) runs every
  offline audit; verifier runs only its pinning check, the comparison the issue asks for (zizmor cannot
  run one audit alone). Exit codes are not failures (both exit non-zero on findings); no output is.
- memory: peak RSS of the whole command (``--format json``, report to /dev/null) on the corpus and on a
  tree of ``--scale`` hard-linked copies of it, each in a fresh process, and the ratio (target: at most
  2.0). The same for the check phase alone (read and check every file, keep the results, no policy and
  no report) and for a bare parse (compose every file, keep nothing), so the figure can be split.
- gc: CPU time of the check phase on the Nx tree with the cyclic collector paused (as ``check_files``
  does) and running.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "real" / "workflows"
FALLBACK_CORPUS = REPO / "tests" / "assets" / "upstream" / "workflows"
MEMORY_TARGET = 2.0
TIME_TARGET = 0.5

CPU_TIMES: dict[str, list[float]] = {}

# The phases measured in-process, each in a fresh interpreter; each prints its peak RSS in KiB.
CHECK_PHASE = """
import resource, sys
from verifier.checks.actions_pinned import check_files
from verifier.sources.workflow_files import read_all
files, _found = read_all([sys.argv[1]])
results = check_files(files.rows())
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, len(results))
"""
BARE_PARSE = """
import resource, sys
from verifier.sources.workflow_files import read_all
from verifier.workflows.yaml_nodes import compose_documents
files, _found = read_all([sys.argv[1]])
n = 0
for path, _kind, text, _problem in files.rows():
    if text is not None:
        compose_documents(text, path)
        n += 1
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, n)
"""
GC_PHASE = """
import gc, sys, time
from verifier.checks import actions_pinned
from verifier.sources.workflow_files import read_all
if sys.argv[2] == "running":
    import contextlib
    actions_pinned.collector_paused = contextlib.nullcontext  # the seam: run with the collector on
files, _found = read_all([sys.argv[1]])
start = time.process_time()
actions_pinned.check_files(files.rows())
print(time.process_time() - start)
"""


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


def peak_rss_mib(cmd: list[str], env: dict[str, str]) -> float:
    """Peak resident set size of one child process (its own, from wait4), in MiB."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _pid, status, usage = os.wait4(proc.pid, 0)
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed: {stderr[-500:]}")
    return usage.ru_maxrss / 1024


def phase(code: str, args: list[str], python: str, env: dict[str, str]) -> list[str]:
    """Run an in-process phase script in a fresh interpreter; its printed words."""
    out = subprocess.run(
        [python, "-c", code, *args], capture_output=True, text=True, env=env, check=True
    )
    return out.stdout.split()


def build_scaled(corpus: Path, scale: int, into: Path) -> Path:
    """``scale`` copies of the corpus under ``into`` (hard links when the filesystem allows)."""
    root = into / f"x{scale}"
    for i in range(scale):
        target = root / f"copy{i:03d}"
        try:
            shutil.copytree(corpus, target, copy_function=os.link)
        except OSError:
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(corpus, target)
    return root


def bench_time(args: argparse.Namespace, corpus: str, env: dict[str, str]) -> int:
    """verifier vs zizmor, whole process, alternating runs."""
    verifier_cmd = [
        args.verifier_python,
        "-m",
        "verifier",
        "check",
        "actions",
        corpus,
        "--format",
        "json",
        "--quiet-skips",
    ]
    zizmor_cmd = [args.zizmor, "--offline", "--format", "json", "--no-progress", corpus]
    if not Path(args.zizmor).exists():
        print(f"zizmor not found at {args.zizmor}: `make dev` installs it", file=sys.stderr)
        return 2
    version = subprocess.run(
        [args.zizmor, "--version"], capture_output=True, text=True, check=False
    )

    # Warm-up (page cache, .pyc files), and a sanity check of both outputs.
    _t, out, rc = timed(verifier_cmd, env)
    if rc not in (0, 1):
        print(f"verifier exited {rc}", file=sys.stderr)
        return 2
    report = json.loads(out)
    _t, zout, zrc = timed(zizmor_cmd)
    zfindings = json.loads(zout)
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
        f"median {statistics.median(ours) / statistics.median(theirs):.2f}  (target <= {TIME_TARGET})"
    )
    cpu_ours, cpu_theirs = CPU_TIMES["verifier"], CPU_TIMES["zizmor"]
    print(
        f"cpu (user+sys): verifier median {statistics.median(cpu_ours):.3f} s, zizmor median "
        f"{statistics.median(cpu_theirs):.3f} s, "
        f"ratio {statistics.median(cpu_ours) / statistics.median(cpu_theirs):.2f}"
    )
    return 0


def bench_memory(args: argparse.Namespace, corpus: str, scaled: Path, env: dict[str, str]) -> None:
    """Peak RSS at 1x and Nx: the whole command, the check phase, a bare parse."""
    python = args.verifier_python
    rows: list[tuple[str, float, float]] = []
    command = [python, "-m", "verifier", "check", "actions"]
    tail = ["--format", "json", "--quiet-skips", "--output", os.devnull]
    one = peak_rss_mib([*command, corpus, *tail], env)
    many = peak_rss_mib([*command, str(scaled), *tail], env)
    rows.append(("whole command (json report)", one, many))
    for name, code in (("check phase (results kept)", CHECK_PHASE), ("bare parse", BARE_PARSE)):
        one_kib = float(phase(code, [corpus], python, env)[0])
        many_kib = float(phase(code, [str(scaled)], python, env)[0])
        rows.append((name, one_kib / 1024, many_kib / 1024))
    files = sum(1 for _ in scaled.rglob("*.y*ml"))
    print(f"peak RSS, corpus {corpus} at 1x and {args.scale}x ({files} files), fresh process each:")
    for name, a, b in rows:
        print(f"  {name:<30} 1x {a:7.1f} MiB   {args.scale}x {b:7.1f} MiB   ratio {b / a:.2f}")
    print(f"target: whole command at {args.scale}x <= {MEMORY_TARGET}x the 1x figure")


def bench_gc(args: argparse.Namespace, scaled: Path, env: dict[str, str]) -> None:
    """CPU time of the check phase with the collector paused and running, alternately."""
    paused: list[float] = []
    running: list[float] = []
    for _ in range(max(1, args.runs // 3)):
        paused.append(float(phase(GC_PHASE, [str(scaled), "paused"], args.verifier_python, env)[0]))
        running.append(
            float(phase(GC_PHASE, [str(scaled), "running"], args.verifier_python, env)[0])
        )
    p, r = statistics.median(paused), statistics.median(running)
    print(
        f"check phase at {args.scale}x, CPU time: collector paused median {p:.2f} s, running "
        f"median {r:.2f} s, paused/running {p / r:.2f}"
    )


def main() -> int:
    """Run the selected benchmarks and print their figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS if DEFAULT_CORPUS.is_dir() else FALLBACK_CORPUS,
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--scale", type=int, default=50)
    parser.add_argument(
        "--what", nargs="+", choices=("time", "memory", "gc"), default=["time", "memory"]
    )
    parser.add_argument(
        "--zizmor", default=shutil.which("zizmor") or str(Path(sys.executable).parent / "zizmor")
    )
    parser.add_argument("--verifier-python", default=sys.executable)
    args = parser.parse_args()

    corpus = str(args.corpus)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    code = 0
    if "time" in args.what:
        code = bench_time(args, corpus, env)
    if "memory" in args.what or "gc" in args.what:
        with tempfile.TemporaryDirectory(prefix="bench-actions-") as tmp:
            scaled = build_scaled(args.corpus, args.scale, Path(tmp))
            if "memory" in args.what:
                bench_memory(args, corpus, scaled, env)
            if "gc" in args.what:
                bench_gc(args, scaled, env)
    return code


if __name__ == "__main__":
    sys.exit(main())
