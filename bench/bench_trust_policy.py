"""Benchmark: `verifier check trust-policy` vs checkov on the 53 real trust configurations and on the
hand-written issue-15 cases (tests/assets/oidc-trust/cases.yaml, from the "issue 15" marker on).

checkov cannot read a bare IAM policy document, a GCP provider record or a Graph-API credential, so both
tools run on the SAME generated Terraform wrappers (one .tf per corpus file, as in the corpus's own
checkov columns): AWS documents become `aws_iam_role.assume_role_policy` heredocs (checkov CKV_AWS_393),
GCP records `google_iam_workload_identity_pool_provider` (+ `google_service_account_iam_member`,
CKV_GCP_125), Azure credentials `azuread_application_(flexible_)federated_identity_credential`
(CKV_AZURE_249). Template placeholders are escaped (`$${...}`) so both tools see the same literal text.

Measured: whole-process wall time (interpreter start included) of each tool over the directory, median
of several runs, in the same run of this script. Printed: the ratio, and every file where checkov's
PASS/FAIL differs from our verdict (ours "FAIL" = a verdict the default policy denies: fail, warn-org).

    .venv/bin/python bench/bench_trust_policy.py [--runs N] [--checkov PATH]

checkov is the peer, never a dependency: install it in a venv of its own (`pip install checkov==3.3.30`).
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
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "assets" / "upstream" / "trust-policies"
CASES = REPO / "tests" / "assets" / "oidc-trust" / "cases.yaml"
GITHUB_ARN = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
CHECKS = "CKV_AWS_358,CKV_AWS_393,CKV_GCP_125,CKV_AZURE_249"
DENY = {"fail", "warn-org", "unsupported"}


def hcl_string(value: str) -> str:
    return json.dumps(value.replace("${", "$${").replace("%{", "%%{"))


def wrapper(provider: str, doc: dict[str, Any]) -> str:
    if provider == "aws":
        body = json.dumps(doc, indent=2).replace("${", "$${").replace("%{", "%%{")
        return f'resource "aws_iam_role" "r" {{\n  name = "r"\n  assume_role_policy = <<POLICY\n{body}\nPOLICY\n}}\n'
    if provider == "gcp":
        lines = [
            'resource "google_iam_workload_identity_pool_provider" "p" {',
            '  workload_identity_pool_id = "pool"',
            '  workload_identity_pool_provider_id = "gh"',
        ]
        if doc.get("attribute_mapping"):
            lines.append("  attribute_mapping = {")
            lines += [
                f"    {hcl_string(k)} = {hcl_string(v)}"
                for k, v in doc["attribute_mapping"].items()
            ]
            lines.append("  }")
        if doc.get("attribute_condition"):
            lines.append(f"  attribute_condition = {hcl_string(doc['attribute_condition'])}")
        lines += ["  oidc {", f"    issuer_uri = {hcl_string(doc['issuer_uri'])}", "  }", "}"]
        for i, b in enumerate(doc.get("bindings") or []):
            lines += [
                f'resource "google_service_account_iam_member" "b{i}" {{',
                '  service_account_id = "projects/p/serviceAccounts/sa@p.iam.gserviceaccount.com"',
                '  role = "roles/iam.workloadIdentityUser"',
                f"  member = {hcl_string(b['member'])}",
                "}",
            ]
        return "\n".join(lines) + "\n"
    expr = doc.get("claimsMatchingExpression")
    if expr:
        return (
            f'resource "azuread_application_flexible_federated_identity_credential" "f" {{\n'
            f'  application_id = "app"\n  display_name = "f"\n  issuer = {hcl_string(doc["issuer"])}\n'
            f"  audience = {hcl_string(doc.get('audience', 'api://AzureADTokenExchange'))}\n"
            f"  claims_matching_expression = {hcl_string(expr['value'])}\n}}\n"
        )
    auds = ", ".join(hcl_string(a) for a in doc.get("audiences", []))
    return (
        f'resource "azuread_application_federated_identity_credential" "f" {{\n  application_id = "app"\n'
        f'  display_name = "f"\n  issuer = {hcl_string(doc["issuer"])}\n'
        f"  subject = {hcl_string(doc['subject'])}\n  audiences = [{auds}]\n}}\n"
    )


def timed(
    cmd: list[str], env: dict[str, str]
) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """(wall seconds, CPU seconds user+sys of the process and its children, result)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=900)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc


def corpus_inputs() -> list[tuple[str, str, dict[str, Any], str]]:
    """(id, provider, document, expected verdict) of the 53 corpus configurations."""
    expected = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
    return [
        (
            entry["id"],
            provider,
            json.loads((CORPUS / provider / entry["file"]).read_text(encoding="utf-8")),
            entry["verdict"].split()[0].lower(),
        )
        for provider in ("aws", "gcp", "azure")
        for entry in expected[provider]
    ]


def issue15_inputs() -> list[tuple[str, str, dict[str, Any], str]]:
    """The hand-written cases added for issue 15 (each a false allow of the old evaluator)."""
    import yaml

    text = CASES.read_text(encoding="utf-8")
    marker = text.index("# --- issue 15")
    out = []
    for case in yaml.safe_load(text[marker:]) or []:
        provider = case.get("provider", "aws")
        if provider == "aws":
            doc = case.get("policy") or {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": GITHUB_ARN},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": case["condition"],
                    }
                ],
            }
        else:
            doc = dict(case["document"])
            if provider == "gcp" and doc.get("bindings"):
                doc["bindings"] = [b for b in doc["bindings"] if isinstance(b, dict)]
        out.append((case["id"], provider, doc, case["verdict"]))
    return out


def run_set(
    title: str,
    inputs: list[tuple[str, str, dict[str, Any], str]],
    args: argparse.Namespace,
    env: dict[str, str],
) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-trust-") as tmp:
        wrappers = Path(tmp) / "tf"
        wrappers.mkdir()
        names: dict[str, str] = {}
        for ident, provider, doc, want in inputs:
            name = f"{ident}.tf"
            (wrappers / name).write_text(wrapper(provider, doc), encoding="utf-8")
            names[name] = want
        # Both tools run as their console scripts, as a CI step would run them.
        script = Path(sys.executable).parent / "verifier"
        launcher = [str(script)] if script.exists() else [sys.executable, "-m", "verifier"]
        ours_cmd = [
            *launcher,
            "check",
            "trust-policy",
            str(wrappers),
            "--format",
            "json",
            "--exit-zero",
        ]
        checkov_cmd = [
            args.checkov,
            "-d",
            str(wrappers),
            "--framework",
            "terraform",
            "--check",
            CHECKS,
            "-o",
            "json",
            "--skip-download",
            "--compact",
            "--soft-fail",
        ]
        ours_times, checkov_times, ours_cpu, checkov_cpu = [], [], [], []
        ours_out = checkov_out = ""
        for _ in range(args.runs):
            t, c, proc = timed(ours_cmd, env)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 2
            ours_times.append(t)
            ours_cpu.append(c)
            ours_out = proc.stdout
            t, c, proc = timed(checkov_cmd, env)
            if proc.returncode != 0:
                print(proc.stderr[-2000:], file=sys.stderr)
                return 2
            checkov_times.append(t)
            checkov_cpu.append(c)
            checkov_out = proc.stdout
        ours = {
            Path(r["subject"].split("#")[0]).name: r["verdict"]
            for r in json.loads(ours_out)["results"]
        }
        checkov: dict[str, set[str]] = {}
        reports = json.loads(checkov_out) if checkov_out.strip() else []
        for report in reports if isinstance(reports, list) else [reports]:
            results = report.get("results", {}) if isinstance(report, dict) else {}
            for status, key in (("PASS", "passed_checks"), ("FAIL", "failed_checks")):
                for item in results.get(key, []):
                    checkov.setdefault(Path(item["file_path"]).name, set()).add(
                        f"{item['check_id']}={status}"
                    )
    print(f"== {title}: {len(names)} trust configurations as Terraform wrappers")
    ours_med, checkov_med = statistics.median(ours_times), statistics.median(checkov_times)
    print(
        f"verifier: median {ours_med:.3f} s wall over {args.runs} runs  {[round(t, 3) for t in ours_times]}"
    )
    print(
        f"checkov : median {checkov_med:.3f} s wall over {args.runs} runs  {[round(t, 3) for t in checkov_times]}"
    )
    ours_c, checkov_c = statistics.median(ours_cpu), statistics.median(checkov_cpu)
    print(
        f"cpu     : verifier {ours_c:.3f} s, checkov {checkov_c:.3f} s (user+sys, median): "
        f"{checkov_c / ours_c:.1f}x less CPU (target >= 20x); wall {checkov_med / ours_med:.1f}x"
    )
    wrong = [n for n, want in names.items() if ours.get(n) != want]
    print(
        f"verifier verdicts equal to the expected ones on the wrappers: {len(names) - len(wrong)}/{len(names)}"
        + (f"  (differ: {', '.join(f'{n[:-3]}={ours.get(n)}' for n in wrong)})" if wrong else "")
    )
    print("where checkov and verifier differ (verifier deny = fail/warn-org/unsupported):")
    print(f"  {'id':46} {'expected':14} {'verifier':14} checkov")
    differ = 0
    for name, want in sorted(names.items()):
        ck = checkov.get(name, set())
        ck_fail = any(x.endswith("=FAIL") for x in ck)
        ours_fail = ours.get(name) in DENY
        if not ck or ck_fail != ours_fail:
            differ += 1
            shown = ", ".join(sorted(ck)) or "no result (resource not supported)"
            print(f"  {name[:-3]:46} {want:14} {ours.get(name, '?'):14} {shown}")
    print(f"{differ} of {len(names)} differ\n")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--checkov", default=shutil.which("checkov") or "/work/benchvenv/bin/checkov"
    )
    args = parser.parse_args()
    env = {
        **os.environ,
        "BC_SKIP_MAPPING": "TRUE",
        "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
        "LOG_LEVEL": "ERROR",
    }
    # Byte-compile verifier as an installed wheel is (checkov's site-packages are): with
    # PYTHONDONTWRITEBYTECODE set, an editable checkout would otherwise recompile every module per run.
    import verifier

    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(verifier.__file__).parent)],
        check=True,
        env={k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"},
    )
    for title, inputs in (
        ("corpus (tests/assets/upstream/trust-policies)", corpus_inputs()),
        ("issue-15 cases (tests/assets/oidc-trust/cases.yaml)", issue15_inputs()),
    ):
        code = run_set(title, inputs, args, env)
        if code:
            return code
    floor_cmd = [
        sys.executable,
        "-c",
        "import verifier.adapters.cli, verifier.adapters.common, "
        "verifier.pipeline, verifier.output.json, verifier.policy.regorus_engine",
    ]
    floor = statistics.median(timed(floor_cmd, env)[1] for _ in range(args.runs))
    print(
        f"floor   : {floor:.3f} s CPU is the shared CLI/pipeline/policy/output import that every "
        "`verifier check` pays"
    )
    print(
        f"load    : {os.getloadavg()[0]:.2f} (1-min load average on {os.cpu_count()} cores; wall times "
        "stretch when other jobs share the machine, CPU time does not)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
