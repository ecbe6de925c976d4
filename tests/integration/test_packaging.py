"""Packaging: an install without the ``[webhook]`` extra says what to install instead of a traceback.

The real case (a clean venv from ``requirements/runtime.txt``, which has no webhook extra) is run by
``make offline-install``; here the extra's modules are hidden from a subprocess of this venv with
``sys.modules[name] = None`` (what Python itself does to block an import), because building a second venv
per test run would need the network.
"""

from __future__ import annotations

import subprocess
import sys

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
