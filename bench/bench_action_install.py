"""The Action's install step: before (``pip install <checkout>``, the resolver picks ranges from PyPI) and
after (the install step of action.yml as GitHub runs it: pip installs uv from requirements/bootstrap.txt,
uv installs requirements/runtime.txt + build.txt with ``--require-hashes --no-deps``, then the checkout with
``--no-build-isolation --no-index``), each in a fresh venv, in the same run.

    python bench/bench_action_install.py [--runs 2] [--wheelhouse .wheelhouse]

Every install starts from an empty venv with pip's cache off and this machine's pip configuration ignored
(``PIP_CONFIG_FILE=/dev/null``), so each one downloads what it installs from PyPI, as a fresh runner does.
With ``--wheelhouse DIR`` (from ``make wheelhouse``) the locked install is also timed offline from DIR.
Prints the median wall time of each variant and the ratio after / before.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((REPO / "action.yml").read_text())
PIP = ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-cache-dir"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_CACHE_DIR="1", UV_NO_CACHE="1")
    env.update(extra)
    return env


def _install(variant: str, tmp: Path, wheelhouse: Path | None) -> float:
    """One install into a fresh venv under ``tmp``; returns its wall time."""
    venv = tmp / "verifier-venv"
    started = time.perf_counter()
    if variant == "before":
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), *PIP, str(REPO)], check=True, env=_env())
    else:
        # The Action's install step itself, as GitHub runs it.
        step = next(s for s in ACTION["runs"]["steps"] if s.get("id") == "install")
        script = tmp / "install.sh"
        script.write_text(step["run"])
        env = _env(RUNNER_TEMP=str(tmp), GITHUB_ACTION_PATH=str(REPO), VERIFIER_VERSION="")
        prefix: list[str] = []
        if variant == "offline":
            prefix = ["unshare", "--net", "--"]
            env.update(
                PIP_NO_INDEX="1",
                PIP_FIND_LINKS=str(wheelhouse),
                UV_OFFLINE="1",
                UV_FIND_LINKS=str(wheelhouse),
            )
        subprocess.run(
            [*prefix, "bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
    seconds = time.perf_counter() - started
    out = subprocess.run(
        [str(venv / "bin" / "verifier"), "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("verifier "), out.stdout
    return seconds


def main() -> None:
    """Time each variant ``--runs`` times, alternating, and print medians and ratios."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--wheelhouse", type=Path)
    args = parser.parse_args()
    variants = ["before", "after"] + (["offline"] if args.wheelhouse else [])
    times: dict[str, list[float]] = {v: [] for v in variants}
    for _ in range(args.runs):
        for variant in variants:
            tmp = Path(tempfile.mkdtemp(prefix=f"bench-install-{variant}-"))
            try:
                times[variant].append(_install(variant, tmp, args.wheelhouse))
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            print(f"{variant}: {times[variant][-1]:.1f} s", flush=True)
    medians = {v: statistics.median(t) for v, t in times.items()}
    print("\nAction install step, fresh venv, no pip cache (median of", args.runs, "runs)")
    print(f"  before  pip install <checkout> (resolver, ranges):  {medians['before']:6.1f} s")
    print(f"  after   action.yml install step (lock, hashes, uv):  {medians['after']:6.1f} s")
    if "offline" in medians:
        print(f"  after   same, offline from the wheelhouse:          {medians['offline']:6.1f} s")
    print(f"  ratio after / before: {medians['after'] / medians['before']:.2f}")


if __name__ == "__main__":
    main()
