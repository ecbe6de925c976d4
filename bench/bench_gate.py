"""Whole-process `verifier gate` on the demo release, as CI would run it. Target: < 1.5 s.

The release: the throwaway-key OCI layout (signature + SBOM attestation), a Trivy SARIF with 1,000 results
(the demo's real golden, results replicated with distinct CVE ids), 30 pinned workflows and 5 trust
policies. Runs the installed `verifier` console script in a fresh process each time (imports included),
prints the median wall time and the per-check split the gate reports with --timings.

    python bench/bench_gate.py [--runs 7]
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo"
TARGET_S = 1.5


def build_release(work: Path) -> Path:
    """Write the benchmark inputs and config into ``work``; return the config path."""
    sarif = json.loads((DEMO / "scan.sarif").read_text())
    run = sarif["runs"][0]
    template = run["results"]
    results = []
    for i in range(1000):
        r = copy.deepcopy(template[i % len(template)])
        r["ruleId"] = f"CVE-2099-{i:05d}"
        results.append(r)
    rules = []
    for i in range(1000):
        rule = copy.deepcopy(
            run["tool"]["driver"]["rules"][i % len(run["tool"]["driver"]["rules"])]
        )
        rule["id"] = f"CVE-2099-{i:05d}"
        rules.append(rule)
    for i, r in enumerate(results):
        r["ruleIndex"] = i
    run["results"], run["tool"]["driver"]["rules"] = results, rules
    (work / "scan.sarif").write_text(json.dumps(sarif))
    wf = work / "repo" / ".github" / "workflows"
    wf.mkdir(parents=True)
    for i in range(30):
        shutil.copy(DEMO / "workflows" / "release.yml", wf / f"release-{i:02d}.yml")
    policies = work / "trust"
    policies.mkdir()
    base = json.loads((DEMO / "trust-policy.json").read_text())
    for i in range(5):
        doc = copy.deepcopy(base)
        doc["Statement"][0]["Condition"]["StringEquals"][
            "token.actions.githubusercontent.com:sub"
        ] = f"repo:example-org/api-{i}:environment:production"
        (policies / f"role-{i}.json").write_text(json.dumps(doc, indent=2))
    config = work / "verifier.yaml"
    config.write_text(
        f"image: oci-layout:{DEMO}/throwaway-key\n"
        f"signers:\n  key: {DEMO}/keys/throwaway-cosign.pub\n"
        "sbom:\n  required: true\n"
        "sarif:\n  files: [scan.sarif]\n  fail_on: [critical, high]\n"
        "workflows:\n  paths: [repo]\n"
        "trust_policies:\n  paths: [trust]\n"
    )
    return config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    verifier = shutil.which("verifier", path=str(Path(sys.executable).parent)) or "verifier"
    with tempfile.TemporaryDirectory() as tmp:
        config = build_release(Path(tmp))
        walls: list[float] = []
        split: dict[str, list[float]] = defaultdict(list)
        for _ in range(args.runs):
            start = time.perf_counter()
            proc = subprocess.run(
                [verifier, "gate", "--config", str(config), "--timings", "--format", "json"],
                capture_output=True,
                text=True,
                check=False,
            )
            walls.append(time.perf_counter() - start)
            if proc.returncode != 0:
                print(proc.stdout[-2000:], proc.stderr[-2000:], sep="\n")
                print(f"gate exited {proc.returncode}; expected an allow")
                return 1
            for line in proc.stderr.splitlines():
                if line.startswith("timing: "):
                    check, ms = line[len("timing: ") :].rsplit(": ", 1)
                    split[check].append(float(ms.split()[0]))
            doc = json.loads(proc.stdout)
        counts = {r["check"]: 0 for r in doc["results"]}
        for r in doc["results"]:
            counts[r["check"]] += 1
    median = statistics.median(walls)
    print(
        f"verifier gate, whole process, median of {args.runs}: {median:.3f} s "
        f"(min {min(walls):.3f}, max {max(walls):.3f}); target < {TARGET_S} s: "
        f"{'met' if median < TARGET_S else 'NOT met'}"
    )
    print(f"results per check: {counts}")
    total = 0.0
    for check, values in split.items():
        ms = statistics.median(values)
        total += ms
        print(f"  {check:18s} {ms:8.1f} ms")
    print(
        f"  {'checks total':18s} {total:8.1f} ms; the rest ({median * 1000 - total:.0f} ms) is interpreter start, "
        "imports, config, policy evaluation and rendering"
    )
    return 0 if median < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
