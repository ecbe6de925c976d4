"""The Action's install step, run for real in a clean venv with no network at all, from a wheelhouse.

    python .ci/offline_install.py --wheelhouse .wheelhouse      (make offline-install; CI runs it)

The step's script is taken from action.yml and run exactly as GitHub runs it
(``bash --noprofile --norc -eo pipefail FILE``) inside ``unshare --net`` (a network namespace with no
interfaces but loopback), with pip and uv pointed at the wheelhouse only. Then the installed verifier, still
offline, must print its version, allow and deny the demo release, and refuse ``webhook`` (the runtime lock
has no webhook extra) with the one-line hint and exit 2. Last, plain ``pip install --require-hashes`` of the
runtime lock into another clean venv, offline from the same wheelhouse. Prints one line per check and a closing
``N passed, N failed`` line; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
GITHUB_BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
OFFLINE = ["unshare", "--net", "--"]


def _run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*OFFLINE, *cmd],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def main() -> int:
    """Install, then check; return the exit code."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--wheelhouse", type=Path, required=True)
    args = parser.parse_args()
    wheelhouse = args.wheelhouse.resolve()
    action = yaml.safe_load((REPO / "action.yml").read_text())
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "install")
    results: list[tuple[str, bool, str]] = []
    with tempfile.TemporaryDirectory(prefix="offline-install-") as tmp:
        runner_temp = Path(tmp)
        script = runner_temp / "install.sh"
        script.write_text(step["run"])
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": tmp,
            "RUNNER_TEMP": tmp,
            "GITHUB_ACTION_PATH": str(REPO),
            "VERIFIER_VERSION": "",
            # Only the wheelhouse: pip with no index at all, uv offline with the wheelhouse as its links.
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(wheelhouse),
            "UV_OFFLINE": "1",
            "UV_FIND_LINKS": str(wheelhouse),
            "UV_CACHE_DIR": str(runner_temp / "uv-cache"),
        }
        install = subprocess.run(
            [*OFFLINE, *GITHUB_BASH, str(script)],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        results.append(
            ("install step offline", install.returncode == 0, install.stdout + install.stderr)
        )
        verifier = str(runner_temp / "verifier-venv" / "bin" / "verifier")
        if install.returncode == 0:
            version = _run([verifier, "--version"], env)
            results.append(
                ("verifier --version", version.stdout.startswith("verifier "), version.stdout)
            )
            for config, expected in (("verifier.yaml", 0), ("verifier-deny.yaml", 1)):
                gate = _run([verifier, "gate", "--config", f"fixtures/demo/{config}"], env)
                results.append(
                    (
                        f"gate fixtures/demo/{config} exits {expected}",
                        gate.returncode == expected,
                        gate.stdout[-2000:] + gate.stderr,
                    )
                )
            webhook = _run([verifier, "webhook", "--config", "fixtures/demo/verifier.yaml"], env)
            hint = "pip install 'verifier[webhook]'"
            results.append(
                (
                    "webhook without its extra: one line, exit 2",
                    webhook.returncode == 2
                    and len(webhook.stderr.splitlines()) == 1
                    and hint in webhook.stderr,
                    webhook.stderr,
                )
            )
        # The same lock with plain pip (what the Containerfile and `make demo` use), also offline.
        pip_venv = runner_temp / "pip-venv"
        subprocess.run([sys.executable, "-m", "venv", str(pip_venv)], check=True, timeout=300)
        pip = _run(
            [
                str(pip_venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--require-hashes",
                "--no-deps",
                "--only-binary",
                ":all:",
                "-r",
                "requirements/runtime.txt",
                "-r",
                "requirements/build.txt",
            ],
            env,
        )
        if pip.returncode == 0:
            pip = _run(
                [
                    str(pip_venv / "bin" / "python"),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--no-deps",
                    "--no-build-isolation",
                    "--no-index",
                    str(REPO),
                ],
                env,
            )
        if pip.returncode == 0:
            pip = _run([str(pip_venv / "bin" / "verifier"), "--version"], env)
        results.append(
            (
                "pip install --require-hashes from the lock, offline, clean venv",
                pip.returncode == 0 and pip.stdout.startswith("verifier "),
                pip.stdout + pip.stderr,
            )
        )
    failed = 0
    for name, ok, detail in results:
        print(f"{'PASS' if ok else 'FAIL'} {name}")
        if not ok:
            failed += 1
            print("    " + detail.replace("\n", "\n    "))
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
