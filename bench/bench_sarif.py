"""Benchmarks of the spine (issue 2). Prints figures; asserts nothing about time.

1. 100,000 SARIF results (generated from the real Trivy files) read and decided, whole process:
   wall time and peak RSS.
2. A 200 MB SARIF read under a raised --max-size: peak RSS (target: under 1 GiB).
3. Rego decision latency at 10 / 1,000 / 50,000 findings on regorus (embedded) and real OPA in-process,
   with the growth ratio (linear growth means ~100x from 10 to 1,000 findings is NOT expected: the policy
   reads per-severity counts, so the cost is the input document's size).
4. CLI start-up: `verifier --version` whole-process time.
5. `verifier check sarif` on one small real Trivy log, whole process: median CPU of the child (the cost of
   start-up, imports and the schema model for the common CI case).
6. The SARIF schema check in-process on 10,000 results: the reader (msgspec structs generated from the
   SARIF 2.1.0 schema, verifier/sources/sarif_model.py) against the reference, json.loads + jsonschema
   (draft-04, the schema's own), CPU seconds and the ratio.

Run: .venv/bin/python bench/bench_sarif.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REAL = REPO / "tests" / "assets" / "upstream" / "sarif" / "trivy"
VERIFIER = [sys.executable, "-m", "verifier"]


def _template_results() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    results: list[dict[str, object]] = []
    rules: list[dict[str, object]] = []
    for name in (
        "ratify-trivy-alpine-critical.sarif.json",
        "rocky-linux-trivy-0.38.1.sarif.json",
        "austimkelly-trivy-0.49.1-critical-high.sarif.json",
    ):
        run = json.loads((REAL / name).read_text())["runs"][0]
        rules += run["tool"]["driver"]["rules"]
        results += run["results"]
    return results, rules


def make_sarif(path: Path, n_results: int, pad_to_bytes: int = 0) -> int:
    """Write a SARIF log with ``n_results`` results cycled from the real files (ids made unique)."""
    templates, rules = _template_results()
    pad = ""
    if pad_to_bytes:
        per_result = pad_to_bytes // n_results
        pad = "x" * max(0, per_result - 600)
    with path.open("w") as fh:
        fh.write(
            '{"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json", "runs": ['
        )
        fh.write(
            json.dumps(
                {
                    "tool": {"driver": {"name": "Trivy", "version": "0.49.1", "rules": rules}},
                    "results": [],
                }
            )[:-2]
        )
        for i in range(n_results):
            result = dict(templates[i % len(templates)])
            result.pop("ruleIndex", None)
            if pad:
                result["properties"] = {"padding": pad}
            fh.write(("," if i else "") + json.dumps(result))
        fh.write("]}]}")
    return path.stat().st_size


def run_measured(args: list[str]) -> tuple[float, float, int, float]:
    """Wall seconds, peak RSS MiB of the child, exit code, CPU seconds (user + system) of the child.

    On a shared machine the CPU time is the figure to compare between runs; wall time includes waiting."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(
        proc.pid, 0
    )  # this child's own peak RSS, not the max over all children
    wall = time.perf_counter() - start
    cpu = usage.ru_utime + usage.ru_stime
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), cpu


def bench_large_reports(tmp: Path) -> None:
    path = tmp / "100k.sarif"
    size = make_sarif(path, 100_000)
    wall, rss, code, cpu = run_measured(
        [
            *VERIFIER,
            "check",
            "sarif",
            str(path),
            "--format",
            "json",
            "-o",
            str(tmp / "out.json"),
            "--max-size",
            "1024",
        ]
    )
    print(
        f"100,000 results ({size / 2**20:.0f} MiB): read+decide {wall:.2f} s wall, {cpu:.2f} s CPU, "
        f"peak RSS {rss:.0f} MiB, exit {code}"
    )
    big = tmp / "200mb.sarif"
    size = make_sarif(big, 20_000, pad_to_bytes=200 * 2**20)
    wall, rss, code, cpu = run_measured(
        [
            *VERIFIER,
            "check",
            "sarif",
            str(big),
            "--format",
            "json",
            "-o",
            str(tmp / "out2.json"),
            "--max-size",
            "512",
        ]
    )
    print(
        f"200 MB SARIF ({size / 2**20:.0f} MiB, 20,000 results): {wall:.2f} s wall, {cpu:.2f} s CPU, "
        f"peak RSS {rss:.0f} MiB "
        f"(target < 1024 MiB), exit {code}"
    )


def _input_doc(n: int) -> dict[str, object]:
    from verifier.models import CheckResult, Finding, Location, Severity
    from verifier.policy.engine import build_input

    severities = [Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW]
    findings = tuple(
        Finding(
            rule=f"CVE-2024-{i:05d}",
            severity=severities[i % 4],
            message=f"CVE-2024-{i:05d} in pkg{i}",
            location=Location(path="img"),
            properties={"kind": "vulnerability", "package": f"pkg{i}"},
        )
        for i in range(n)
    )
    unwaived: dict[str, int] = {}
    for f in findings:
        unwaived[f.severity.value] = unwaived.get(f.severity.value, 0) + 1
    result = CheckResult(
        check="sarif-severity",
        subject="scan.sarif",
        verdict="fail",
        findings=findings,
        facts={
            "unwaived": unwaived,
            "waived": 0,
            "degraded": 0,
            "total": n,
            "not_run": [],
            "image_binding": {"status": "bound", "gated": ["sha256:" + "0" * 64], "problems": []},
            "scanned_at": "2026-11-25T00:00:00Z",
        },
    )
    config = {"sarif-severity": {"fail_on": ["critical", "high"], "max_age": "168h"}}
    return build_input([result], config, datetime(2026, 11, 26, tzinfo=UTC))


def _time(fn: object, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def bench_rego() -> None:
    from verifier.policy.engine import decision_from_sets, default_policy_dir, policy_files
    from verifier.policy.regorus_engine import RegorusEngine

    regorus = RegorusEngine.for_bundle(default_policy_dir())
    try:
        from opa_bindings import OpaEngine

        opa = OpaEngine()
        for path in policy_files(default_policy_dir()):
            opa.add_policy(str(path), path.read_text())
    except ImportError:
        opa = None
    print("Rego decision latency (median ms, whole evaluate() incl. input serialisation):")
    prev: dict[str, float] = {}
    for n in (10, 1_000, 50_000):
        doc = _input_doc(n)
        repeat = 20 if n <= 1000 else 5
        t_reg = _time(lambda d=doc: regorus.evaluate(d), repeat)
        line = f"  {n:>6} findings: regorus {t_reg:8.2f} ms"
        if opa is not None:

            def opa_eval(d: dict[str, object] = doc) -> None:
                decision_from_sets(
                    opa.eval_document("verifier.deny", d), opa.eval_document("verifier.warn", d)
                )

            t_opa = _time(opa_eval, repeat)
            line += f"   OPA {t_opa:8.2f} ms   regorus/OPA {t_reg / t_opa:5.2f}x"
        if prev:
            last_n, last_t = prev["n"], prev["t"]
            line += f"   growth x{t_reg / last_t:6.1f} for x{n / last_n:.0f} findings"
        prev = {"n": n, "t": t_reg}
        print(line)
    print("  targets (regorus): <= 1 ms / 10 ms / 200 ms")


def bench_small_report() -> None:
    path = REAL / "trivy-golden-alpine-310.sarif.json"
    args = [*VERIFIER, "check", "sarif", str(path), "--format", "json"]
    run_measured(args)  # warm the file cache
    samples = [run_measured(args) for _ in range(15)]
    cpu = statistics.median(sample[3] for sample in samples)
    wall = statistics.median(sample[0] for sample in samples)
    print(
        f"`check sarif` on {path.name}: median {cpu * 1000:.0f} ms CPU, {wall * 1000:.0f} ms wall, "
        f"exit {samples[0][2]}"
    )


def bench_startup() -> None:
    samples = []
    for _ in range(10):
        start = time.perf_counter()
        subprocess.run([*VERIFIER, "--version"], stdout=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - start)
    base = []
    for _ in range(10):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        base.append(time.perf_counter() - start)
    print(
        f"CLI start-up `verifier --version`: median {statistics.median(samples) * 1000:.0f} ms "
        f"(bare `python -c pass`: {statistics.median(base) * 1000:.0f} ms, ratio "
        f"{statistics.median(samples) / statistics.median(base):.1f}x)"
    )


def _cpu(fn: object, repeat: int = 3) -> float:
    """Least process CPU seconds of ``repeat`` calls (the least is the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()  # type: ignore[operator]
        best = min(best, time.process_time() - start)
    return best


def bench_schema_check(tmp: Path) -> None:
    import jsonschema

    from verifier.sources.scan_reports import parse_scan_report

    path = tmp / "10k.sarif"
    size = make_sarif(path, 10_000)
    data = path.read_bytes()
    schema = json.loads(
        (REPO / "tests" / "assets" / "upstream" / "sarif-schema" / "sarif-2.1.0.json").read_bytes()
    )
    validator = jsonschema.Draft4Validator(schema)
    assert validator.is_valid(json.loads(data))
    reader = _cpu(lambda: parse_scan_report(data, str(path)))
    reference = _cpu(lambda: validator.is_valid(json.loads(data)), repeat=1)
    print(
        f"SARIF schema check, 10,000 results ({size / 2**20:.1f} MiB), CPU: reader {reader:.3f} s, "
        f"json.loads + jsonschema {reference:.3f} s, reader/reference {reader / reference:.3f}x"
    )


def main() -> None:
    os.chdir(REPO)
    bench_startup()
    bench_small_report()
    bench_rego()
    with tempfile.TemporaryDirectory() as tmp:
        bench_large_reports(Path(tmp))
        bench_schema_check(Path(tmp))


if __name__ == "__main__":
    main()
