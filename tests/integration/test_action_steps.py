"""The composite action's shell steps, run locally as the runner would run them.

Each `run:` script of action.yml is executed with bash, its `env:` evaluated from the inputs (only the
`${{ inputs.NAME }}` form is allowed there), and fake GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_ENV /
GITHUB_PATH files. The gate and summary steps run the real `verifier` (from this venv) on fixtures/demo.
The install step's `python3` is a stub that records its arguments: installing the package for real needs
the network (build backend), which the suite must not rely on.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "fixtures" / "demo"
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
STEPS = {s.get("id") or s["name"]: s for s in ACTION["runs"]["steps"]}
EXPR = re.compile(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}")
BIN = Path(sys.executable).parent


def _inputs(**given: str) -> dict[str, str]:
    values = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    for key, value in given.items():
        name = key.replace("_", "-")
        assert name in values, f"action.yml has no input {name}"
        values[name] = value
    return values


def _run_step(
    step: dict[str, Any], inputs: dict[str, str], tmp: Path, path: str
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": path,
        "HOME": str(tmp),
        "RUNNER_TEMP": str(tmp),
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_OUTPUT": str(tmp / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp / "summary"),
        "GITHUB_ENV": str(tmp / "env"),
        "GITHUB_PATH": str(tmp / "path"),
    }
    for key, expr in (step.get("env") or {}).items():
        env[key] = EXPR.sub(lambda m: inputs[m.group(1)], str(expr))
    return subprocess.run(
        ["bash", "-c", step["run"]],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _outputs(tmp: Path) -> dict[str, str]:
    text = (tmp / "output").read_text() if (tmp / "output").exists() else ""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def _gate(
    tmp: Path, **given: str
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    inputs = _inputs(**given)
    # Where the install step puts the venv; here it is this suite's own venv.
    venv_bin = tmp / "verifier-venv" / "bin"
    venv_bin.mkdir(parents=True, exist_ok=True)
    if not (venv_bin / "verifier").exists():
        (venv_bin / "verifier").symlink_to(BIN / "verifier")
    path = "/usr/bin:/bin"
    gate = _run_step(STEPS["gate"], inputs, tmp, path)
    summary = _run_step(STEPS["Job summary"], inputs, tmp, path)
    return gate, summary


def test_no_input_is_expanded_inside_run() -> None:
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]
        for value in (step.get("env") or {}).values():
            assert EXPR.fullmatch(str(value)), (
                f"{step['name']}: env may only forward inputs: {value}"
            )


def test_outputs_declared() -> None:
    assert set(ACTION["outputs"]) == {"allowed", "report", "digest"}
    assert {
        "config",
        "image",
        "sarif",
        "workflows",
        "trust-policies",
        "update",
        "format",
        "fail-on-warn",
        "version",
    } <= set(ACTION["inputs"])


def _core_config(tmp: Path) -> str:
    cfg = tmp / "core.yaml"
    cfg.write_text(
        f"image: oci-layout:{DEMO}/throwaway-key\nsigners:\n  key: {DEMO}/keys/throwaway-cosign.pub\n"
        f"sarif:\n  files: [{DEMO}/scan.sarif]\nworkflows:\n  paths: [{DEMO}/workflows/release.yml]\n"
        f"trust_policies:\n  paths: [{DEMO}/trust-policy.json]\n"
    )
    return str(cfg)


def test_allow_writes_outputs_summary_update_and_sarif(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("image:\n  digest: sha256:" + "0" * 64 + "  # set by the gate\n")
    sarif_out = tmp_path / "gate.sarif"
    gate, summary = _gate(
        tmp_path,
        config=_core_config(tmp_path),
        update=f"{values}:.image.digest={{digest}}",
        sarif_file=str(sarif_out),
    )
    assert gate.returncode == 0, gate.stdout + gate.stderr
    out = _outputs(tmp_path)
    assert out["allowed"] == "true"
    assert (
        out["digest"] == "sha256:716e353bc5cad15053aa54e70f2f35085c2ed047b69d9a917fdf66b857fc623b"
    )
    assert Path(out["report"]).read_text().startswith("#")  # markdown report file
    assert summary.returncode == 0
    assert (tmp_path / "summary").read_text() == Path(out["report"]).read_text()
    assert f"digest: {out['digest']}  # set by the gate" in values.read_text()
    assert '"version": "2.1.0"' in sarif_out.read_text()


def test_deny_fails_the_step_and_writes_nothing(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    original = "image:\n  digest: sha256:" + "0" * 64 + "\n"
    values.write_text(original)
    critical = (
        ROOT
        / "tests"
        / "assets"
        / "upstream"
        / "sarif"
        / "trivy"
        / "ratify-trivy-alpine-critical.sarif.json"
    )
    gate, summary = _gate(
        tmp_path,
        config=_core_config(tmp_path),
        sarif=f"{critical}\n",
        update=f"{values}:.image.digest={{digest}}",
        format="json",
    )
    assert gate.returncode == 1
    assert "::error::verifier gate: release denied" in gate.stdout
    assert _outputs(tmp_path)["allowed"] == "false"
    assert values.read_text() == original
    assert summary.returncode == 0
    assert (
        "critical" in (tmp_path / "summary").read_text()
    )  # re-rendered as markdown for the summary


def test_demo_deny_config(tmp_path: Path) -> None:
    gate, _ = _gate(tmp_path, config=str(DEMO / "verifier-deny.yaml"))
    assert gate.returncode == 1
    assert "workflows-deny/release.yml" in (tmp_path / "summary").read_text()


def test_input_with_shell_metacharacters_is_data(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    gate, _ = _gate(tmp_path, config=_core_config(tmp_path), image=f"$(touch {marker})")
    assert gate.returncode in (2, 3)
    assert not marker.exists()


def test_install_step_installs_the_action_checkout(tmp_path: Path) -> None:
    """python3 is a stub (see module docstring): it records what pip was asked to install."""
    stub = tmp_path / "bin"
    stub.mkdir()
    log = tmp_path / "calls"
    (stub / "python3").write_text(
        "#!/bin/bash\n"
        f'echo "$@" >> {log}\n'
        'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then mkdir -p "$3/bin"; '
        f'cp {stub}/python3 "$3/bin/python"; printf "#!/bin/bash\\necho verifier 9.9\\n" > "$3/bin/verifier"; '
        'chmod +x "$3/bin/python" "$3/bin/verifier"; fi\n'
    )
    (stub / "python3").chmod(0o755)
    ok = _run_step(STEPS["install"], _inputs(version="9.9"), tmp_path, f"{stub}:/usr/bin:/bin")
    assert ok.returncode == 0, ok.stderr
    assert f"-m pip install --quiet --disable-pip-version-check {ROOT}" in log.read_text()
    assert not (tmp_path / "path").exists()  # nothing written to GITHUB_PATH
    bad = _run_step(STEPS["install"], _inputs(version="1.0"), tmp_path, f"{stub}:/usr/bin:/bin")
    assert bad.returncode == 2
    assert "expected 1.0" in bad.stdout


def test_every_run_step_is_bash_with_strict_flags() -> None:
    for step in ACTION["runs"]["steps"]:
        assert step["shell"] == "bash", step["name"]
        assert step["run"].startswith(("set -euo pipefail", "set -uo pipefail")), step["name"]
