"""Run the real console entry point in-process (as ``verifier ...`` would), capturing exit code and output."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from verifier.adapters.cli import main


@dataclass(frozen=True)
class Run:
    """Exit code, stdout and stderr of one invocation."""

    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> Run:
    """``main(list(args))``; SystemExit gives the code, capsys gives the streams."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(list(args))
    captured = capsys.readouterr()
    code = info.value.code
    return Run(
        code if isinstance(code, int) else (0 if code is None else 1), captured.out, captured.err
    )
