"""Packaging: an install without the ``[webhook]`` extra says what to install instead of a traceback.

The real case (a clean venv from ``requirements/runtime.txt``, which has no webhook extra) is run by
``make offline-install``; here the extra's modules are hidden from a subprocess of this venv with
``sys.modules[name] = None`` (what Python itself does to block an import), because building a second venv
per test run would need the network.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = (
    "import sys\n"
    "for name in sys.argv[1].split(','):\n"
    "    sys.modules[name] = None\n"
    "from verifier.adapters.cli import main\n"
    "main(sys.argv[2:])\n"
)


@pytest.mark.parametrize(
    "hidden", ["uvicorn", "starlette", "prometheus_client", "uvicorn,starlette"]
)
def test_webhook_without_its_extra_is_one_line_and_exit_2(hidden: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, hidden, "webhook", "--config", "verifier.yaml"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert "pip install 'verifier[webhook]'" in line
    assert hidden.split(",")[0] in line


def test_other_commands_do_not_need_the_webhook_extra() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "uvicorn,starlette,prometheus_client", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("verifier ")


ROOT = Path(__file__).resolve().parents[2]


def _make_dry_run(target: str, tmp: Path) -> str:
    """What `make TARGET` would run for a fresh checkout (a venv that does not exist yet)."""
    done = subprocess.run(
        ["make", "-n", target, f"VENV={tmp / 'venv'}", f"WHEELHOUSE={tmp / 'wheels'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_make_demo_installs_only_the_runtime(tmp_path: Path) -> None:
    commands = _make_dry_run("demo", tmp_path)
    assert "--require-hashes" in commands
    assert "-r requirements/runtime.txt -r requirements/build.txt" in commands
    for dev_only in ("requirements/dev.txt", "opa-test.txt", "[webhook]", "apt-get update", "npm"):
        assert dev_only not in commands, dev_only
    assert "run-demo.sh" in commands


def test_make_test_installs_node_npm_and_every_apt_package_the_readme_lists(tmp_path: Path) -> None:
    makefile = (ROOT / "Makefile").read_text()
    readme = (ROOT / "README.md").read_text()
    packages = re.search(r"^SYSTEM_PACKAGES := (.*)$", makefile, re.MULTILINE)
    image_packages = re.search(r"^IMAGE_PACKAGES := (.*)$", makefile, re.MULTILINE)
    assert packages and image_packages
    listed = packages.group(1).split() + ["nodejs", "npm"] + image_packages.group(1).split()
    for package in listed:
        assert f"`{package}`" in readme, f"README does not name {package}"
    for prerequisite in ("python3-venv", "make", "git"):
        assert prerequisite in readme
    commands = _make_dry_run("test", tmp_path)
    assert "apt-get install -y -qq nodejs npm" in commands
    assert "npm ci" in commands
