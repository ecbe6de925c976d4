"""The report on stdout, when stdout fails: a full disk is exit 2 with the reason, a reader that went away
(``| head``) ends the report quietly with the decision's own exit code — never a traceback. Real processes:
/dev/full and a pipe closed by the reader are what a shell gives."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, UPSTREAM

ARGS = [sys.executable, "-m", "verifier", "check", "actions", str(UPSTREAM / "workflows")]


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_a_full_disk_is_exit_2_with_the_reason(fmt: str) -> None:
    if not Path("/dev/full").exists():
        pytest.fail("/dev/full is missing: this Linux test machine should have it")
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(
            [*ARGS, "--format", fmt], stdout=full, stderr=subprocess.PIPE, cwd=REPO, check=False
        )
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "stdout: cannot write the report: No space left on device" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_a_reader_that_goes_away_keeps_the_decision(fmt: str) -> None:
    """The corpus is denied (exit 1); the reader takes 100 bytes of a report of several hundred KB."""
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [*ARGS, "--format", fmt], stdout=write_end, stderr=subprocess.PIPE, cwd=REPO
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        assert len(reader.read(100)) == 100
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err.decode()
    assert b"Traceback" not in err and b"BrokenPipe" not in err


@pytest.mark.parametrize(
    ("command", "code", "message"),
    [
        (["audit", "fixtures/demo/workflows"], 2, "stdout: cannot write the report"),
        (["trust", "status"], 3, "No space left on device"),
    ],
)
def test_other_commands_on_a_full_disk(command: list[str], code: int, message: str) -> None:
    """The audit report goes through the same writer (exit 2); any other command's output that cannot be
    written ends with a message and exit 3 (could not complete), never a traceback."""
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "verifier", *command],
            stdout=full,
            stderr=subprocess.PIPE,
            cwd=REPO,
            check=False,
        )
    err = proc.stderr.decode()
    assert proc.returncode == code, err
    assert message in err and "Traceback" not in err


def test_report_render_to_a_full_disk(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    with report.open("wb") as out:
        subprocess.run(
            [sys.executable, "-m", "verifier", "check", "sarif", "fixtures/demo/scan.sarif"]
            + ["--format", "json"],
            stdout=out,
            cwd=REPO,
            check=False,
        )
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "verifier",
                "report",
                "render",
                str(report),
                "--format",
                "markdown",
            ],
            stdout=full,
            stderr=subprocess.PIPE,
            cwd=REPO,
            check=False,
        )
    assert proc.returncode == 2, proc.stderr
    assert b"stdout: cannot write the report" in proc.stderr and b"Traceback" not in proc.stderr
