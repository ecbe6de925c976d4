"""Waivers for ``sarif-severity`` read from files: ignore files, VEX documents, and ``--ignore-unfixed``.

Shared by ``verifier check sarif`` and the gate, so both waive exactly the same findings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from verifier.checks.sarif_severity import WaiverSource
    from verifier.sources.trivyignore import IgnoreRule


def load_sarif_waivers(
    ignore_files: Sequence[str | Path],
    vex_files: Sequence[str | Path],
    ignore_unfixed: bool,
    now: datetime,
) -> tuple[list[WaiverSource], list[str]]:
    """Waiver sources for ``sarif-severity`` (ignore files, VEX, --ignore-unfixed, in that order), and the
    malformed ignore-file lines as ``file:line: problem`` (reported as warnings, never fatal)."""
    from verifier.checks import sarif_severity

    waivers: list[WaiverSource] = []
    problems: list[str] = []
    rules: list[IgnoreRule] = []
    if ignore_files:
        from verifier.sources.trivyignore import load_ignore_file

        for path in ignore_files:
            parsed = load_ignore_file(path)
            rules.extend(parsed.rules)
            problems.extend(parsed.problems)
    if rules:
        waivers.append(sarif_severity.ignore_file_waiver(rules, now))
    if vex_files:
        from verifier.sources.vex import load_vex

        waivers.append(sarif_severity.vex_waiver([load_vex(path) for path in vex_files]))
    if ignore_unfixed:
        waivers.append(sarif_severity.unfixed_waiver)
    return waivers, problems
