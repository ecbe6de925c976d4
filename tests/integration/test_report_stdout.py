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
