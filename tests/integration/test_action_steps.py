"""The composite action's shell steps, run locally exactly as the runner runs them.

GitHub runs a `shell: bash` step as `bash --noprofile --norc -eo pipefail {0}` with the script in a file;
so does this test (:func:`_run_step`). Each step's `env:` is evaluated from the inputs (only the
`${{ inputs.NAME }}` form is allowed there), with fake GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_ENV /
GITHUB_PATH files. The gate step runs the real `verifier` (from this venv) on fixtures/demo.

The install step is run for real, offline, from a wheelhouse by `make offline-install` (it needs the
wheels downloaded first); here its `python3` is a stub that records what pip was asked for, to pin down the
arguments (hashes required, no resolver) and the `version` input's checks.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.integration.conftest import LocalRegistry

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "fixtures" / "demo"
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
STEPS = {s.get("id") or s["name"]: s for s in ACTION["runs"]["steps"]}
EXPR = re.compile(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}")
BIN = Path(sys.executable).parent
# What GitHub runs for `shell: bash` (docs: "Exit codes and error action preference").
GITHUB_BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]


def _inputs(**given: str) -> dict[str, str]:
    values = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    for key, value in given.items():
        name = key.replace("_", "-")
        assert name in values, f"action.yml has no input {name}"
        values[name] = value
    return values


def _run_step(
    step: dict[str, Any], inputs: dict[str, str], tmp: Path, path: str, action: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": path,
        "HOME": str(tmp),
        "RUNNER_TEMP": str(tmp),
        "GITHUB_ACTION_PATH": str(action),
        "GITHUB_OUTPUT": str(tmp / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp / "summary"),
        "GITHUB_ENV": str(tmp / "env"),
        "GITHUB_PATH": str(tmp / "path"),
    }
    for key, expr in (step.get("env") or {}).items():
        env[key] = EXPR.sub(lambda m: inputs[m.group(1)], str(expr))
    script = tmp / f"step-{step.get('id', 'x')}.sh"
    script.write_text(step["run"])
    return subprocess.run(
        [*GITHUB_BASH, str(script)],
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


def _gate(tmp: Path, **given: str) -> subprocess.CompletedProcess[str]:
    inputs = _inputs(**given)
    # Where the install step puts the venv; here it is this suite's own venv.
    venv_bin = tmp / "verifier-venv" / "bin"
    venv_bin.mkdir(parents=True, exist_ok=True)
    if not (venv_bin / "verifier").exists():
        (venv_bin / "verifier").symlink_to(BIN / "verifier")
    return _run_step(STEPS["gate"], inputs, tmp, "/usr/bin:/bin")


def _render(report: Path, fmt: str) -> str:
    done = subprocess.run(
        [str(BIN / "verifier"), "report", "render", str(report), "--format", fmt],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


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
        "docker-config",
        "sarif-file",
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


def test_github_shell_stops_at_the_first_failing_command(tmp_path: Path) -> None:
    """Why the steps are written `cmd || code=$?`: under GitHub's flags a bare failing command ends the
    script, so a line after it (an `::error::` annotation) never prints."""
    step = {"id": "probe", "run": 'false\necho "::error::never printed"\n'}
    done = _run_step(step, _inputs(), tmp_path, "/usr/bin:/bin")
    assert done.returncode == 1
    assert "::error::" not in done.stdout


def test_allow_writes_outputs_summary_update_and_sarif_from_one_decision(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("image:\n  digest: sha256:" + "0" * 64 + "  # set by the gate\n")
    sarif_out = tmp_path / "gate.sarif"
    gate = _gate(
        tmp_path,
        config=_core_config(tmp_path),
        update=f"{values}:.image.digest={{digest}}",
        sarif_file=str(sarif_out),
    )
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "::error::" not in gate.stdout
    out = _outputs(tmp_path)
    assert out["allowed"] == "true"
    assert (
        out["digest"] == "sha256:716e353bc5cad15053aa54e70f2f35085c2ed047b69d9a917fdf66b857fc623b"
    )
    report = Path(out["report"])
    assert report.name == "verifier-report.markdown"
    assert report.read_text().startswith("## ✅ verifier: release allowed")
    # One gate run: the report file, the summary and the SARIF are all renderings of its JSON.
    decision_json = tmp_path / "verifier-report.json"
    assert json.loads(decision_json.read_text())["decision"]["allowed"] is True
    assert (tmp_path / "summary").read_text() == report.read_text()
    assert report.read_text() == _render(decision_json, "markdown")
    assert sarif_out.read_text() == _render(decision_json, "sarif")
    assert json.loads(sarif_out.read_text())["runs"][0]["properties"]["decision"]["allowed"]
    assert f"digest: {out['digest']}  # set by the gate" in values.read_text()


def test_deny_prints_the_error_annotation_and_writes_nothing(tmp_path: Path) -> None:
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
    sarif_out = tmp_path / "gate.sarif"
    gate = _gate(
        tmp_path,
        config=_core_config(tmp_path),
        sarif=f"{critical}\n",
        update=f"{values}:.image.digest={{digest}}",
        format="json",
        sarif_file=str(sarif_out),
    )
    assert gate.returncode == 1
    assert "::error::verifier gate: release denied" in gate.stdout
    out = _outputs(tmp_path)
    assert out["allowed"] == "false"
    assert out["report"] == str(tmp_path / "verifier-report.json")
    assert values.read_text() == original
    summary = (tmp_path / "summary").read_text()
    assert summary.startswith("## ❌ verifier: release denied")
    assert "critical" in summary
    sarif = json.loads(sarif_out.read_text())
    assert sarif["runs"][0]["properties"]["decision"]["allowed"] is False


def test_registry_down_is_exit_3_with_the_error_annotation(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gate = _gate(
        tmp_path,
        config=_core_config(tmp_path),
        image=f"127.0.0.1:{port}/app@sha256:" + "a" * 64,
        sarif_file=str(tmp_path / "gate.sarif"),
    )
    assert gate.returncode == 3, gate.stdout + gate.stderr
    assert "::error::verifier gate could not decide (exit 3): treated as deny" in gate.stdout
    assert _outputs(tmp_path) == {"allowed": "false", "digest": "", "report": ""}
    assert "could not decide (exit 3)" in (tmp_path / "summary").read_text()
    assert not (tmp_path / "gate.sarif").exists()


def test_bad_config_is_exit_2_with_the_error_annotation(tmp_path: Path) -> None:
    gate = _gate(tmp_path, config=str(tmp_path / "missing.yaml"))
    assert gate.returncode == 2
    assert "::error::verifier gate could not decide (exit 2): treated as deny" in gate.stdout
    assert _outputs(tmp_path)["allowed"] == "false"


def test_unknown_format_input_is_refused(tmp_path: Path) -> None:
    gate = _gate(tmp_path, config=_core_config(tmp_path), format="html")
    assert gate.returncode == 2
    assert "::error::format input 'html'" in gate.stdout


def test_demo_deny_config(tmp_path: Path) -> None:
    gate = _gate(tmp_path, config=str(DEMO / "verifier-deny.yaml"))
    assert gate.returncode == 1
    assert "workflows-deny/release.yml" in (tmp_path / "summary").read_text()


def test_input_with_shell_metacharacters_is_data(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    gate = _gate(tmp_path, config=_core_config(tmp_path), image=f"$(touch {marker})")
    assert gate.returncode in (2, 3)
    assert not marker.exists()


def test_docker_config_input_reaches_the_gate_as_docker_config_env(tmp_path: Path) -> None:
    """The copy the gate reads is private to the user (0600) and a missing file is refused."""
    missing = _gate(tmp_path, config=_core_config(tmp_path), docker_config=str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert "::error::docker-config input: no file at" in missing.stdout
    config = tmp_path / "creds.json"
    config.write_text('{"auths": {}}')
    ok = _gate(tmp_path, config=_core_config(tmp_path), docker_config=str(config))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    copied = tmp_path / "verifier-docker" / "config.json"
    assert copied.read_text() == config.read_text()
    assert copied.stat().st_mode & 0o777 == 0o600


def test_docker_config_input_with_a_broken_file_is_exit_2(tmp_path: Path) -> None:
    """A gated registry image makes the gate read the credentials: a malformed file is bad input."""
    config = tmp_path / "creds.json"
    config.write_text("{not json")
    gate = _gate(
        tmp_path,
        config=_core_config(tmp_path),
        image="127.0.0.1:9/app@sha256:" + "a" * 64,
        docker_config=str(config),
    )
    assert gate.returncode == 2, gate.stdout + gate.stderr
    assert "config.json" in gate.stderr


def _stub_python(tmp: Path) -> tuple[Path, Path]:
    """A ``python3`` whose ``-m venv DIR`` makes DIR/bin/{python,uv,verifier}; each records its arguments."""
    stub = tmp / "bin"
    stub.mkdir()
    log = tmp / "calls"
    (stub / "python3").write_text(
        "#!/bin/bash\n"
        f'echo "$(basename "$0") $*" >> {log}\n'
        'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then mkdir -p "$3/bin"; '
        f'cp {stub}/python3 "$3/bin/python"; cp {stub}/python3 "$3/bin/uv"; '
        'printf "#!/bin/bash\\necho verifier 9.9\\n" > "$3/bin/verifier"; '
        'chmod +x "$3/bin/python" "$3/bin/uv" "$3/bin/verifier"; fi\n'
    )
    (stub / "python3").chmod(0o755)
    return stub, log


def test_install_step_installs_the_lock_with_hashes_and_no_resolver(tmp_path: Path) -> None:
    """python3 is a stub (see module docstring): it records what pip and uv were asked to install."""
    stub, log = _stub_python(tmp_path)
    ok = _run_step(STEPS["install"], _inputs(), tmp_path, f"{stub}:/usr/bin:/bin")
    assert ok.returncode == 0, ok.stderr
    venv = tmp_path / "verifier-venv"
    calls = log.read_text().splitlines()
    assert calls[0] == f"python3 -m venv {venv}"
    bootstrap, locked, checkout = calls[1:]
    assert bootstrap.startswith("python -m pip install")
    assert bootstrap.endswith(f"-r {ROOT}/requirements/bootstrap.txt")
    assert locked.startswith(f"uv pip install --quiet --no-config --python {venv}/bin/python")
    assert locked.endswith(f"-r {ROOT}/requirements/runtime.txt -r {ROOT}/requirements/build.txt")
    for call in (bootstrap, locked):
        for flag in ("--require-hashes", "--no-deps", "--only-binary :all:"):
            assert flag in call
    assert checkout.endswith(f" {ROOT}")
    for flag in ("--no-deps", "--no-build-isolation", "--no-index"):
        assert flag in checkout
    assert not (tmp_path / "path").exists()  # nothing written to GITHUB_PATH


def test_install_step_version_input(tmp_path: Path) -> None:
    """A release not in requirements/releases.txt, or a version that is not a release number, is refused
    before anything is installed; a listed one installs exactly that line, with its hash."""
    stub, log = _stub_python(tmp_path)
    action = tmp_path / "action"
    (action / "requirements").mkdir(parents=True)
    line = "verifier==9.9.0 --hash=sha256:" + "ab" * 32
    (action / "requirements" / "releases.txt").write_text(f"# releases\n{line}\n")
    for bad in ("1.0.0", "9.9.0 --index-url http://evil", "9.9", "9.9.0; rm -rf /"):
        refused = _run_step(
            STEPS["install"], _inputs(version=bad), tmp_path, f"{stub}:/usr/bin:/bin", action
        )
        assert refused.returncode == 2, bad
        assert "::error::" in refused.stdout
    assert not log.exists()
    ok = _run_step(
        STEPS["install"], _inputs(version="9.9.0"), tmp_path, f"{stub}:/usr/bin:/bin", action
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert (tmp_path / "verifier-release.txt").read_text() == line + "\n"
    locked = log.read_text().splitlines()[2]
    assert "--require-hashes" in locked
    assert locked.endswith(
        f"-r {action}/requirements/runtime.txt -r {tmp_path}/verifier-release.txt"
    )
    assert len(log.read_text().splitlines()) == 3  # the checkout itself is not installed


def test_releases_file_lists_only_hashed_verifier_wheels() -> None:
    for line in (ROOT / "requirements" / "releases.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            assert re.fullmatch(r"verifier==\d+\.\d+\.\d+\S* --hash=sha256:[0-9a-f]{64}", line)


def test_every_run_step_is_bash_with_strict_flags() -> None:
    for step in ACTION["runs"]["steps"]:
        assert step["shell"] == "bash", step["name"]
        assert step["run"].startswith(("set -euo pipefail", "set -uo pipefail")), step["name"]


@pytest.mark.registry
def test_docker_config_input_reaches_a_private_registry(
    auth_registry: LocalRegistry, tmp_path: Path
) -> None:
    """End to end through a registry that requires a login (docker-registry with htpasswd): the image,
    signed here with a THROWAWAY key, is allowed with the `docker-config` input and not without it."""
    key = ec.generate_private_key(ec.SECP256R1())
    repo = auth_registry.new_repo("private")
    digest, _ = auth_registry.push_image(repo)
    payload = json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": f"{auth_registry.host}/{repo}"},
                "image": {"docker-manifest-digest": digest},
                "type": "cosign container image signature",
            },
            "optional": None,
        },
        separators=(",", ":"),
    ).encode()
    signature = base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()
    auth_registry.attach_legacy(
        repo,
        digest,
        [
            (
                payload,
                "application/vnd.dev.cosign.simplesigning.v1+json",
                {"dev.cosignproject.cosign/signature": signature},
            )
        ],
    )
    public = tmp_path / "throwaway.pub"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    config = tmp_path / "private.yaml"
    config.write_text(f"image: {auth_registry.host}/{repo}@{digest}\nsigners:\n  key: {public}\n")
    assert auth_registry.docker_config is not None
    with_login, without = tmp_path / "with-login", tmp_path / "without"
    with_login.mkdir(), without.mkdir()
    allowed = _gate(with_login, config=str(config), docker_config=str(auth_registry.docker_config))
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert _outputs(with_login)["allowed"] == "true"
    refused = _gate(without, config=str(config))
    assert refused.returncode != 0
    assert "::error::" in refused.stdout
    assert _outputs(without)["allowed"] == "false"
