"""``--format github``: workflow commands that GitHub shows as annotations on the files and lines."""

from __future__ import annotations

from collections.abc import Sequence

from verifier.models import CheckResult, Decision, Finding, Severity
from verifier.output._common import is_blocking_severity


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _level(finding: Finding) -> str:
    if is_blocking_severity(finding.severity):
        return "error"
    return "warning" if finding.severity is Severity.MEDIUM else "notice"


def render_github(
    decision: Decision, results: Sequence[CheckResult], notices: Sequence[str] = ()
) -> str:
    """One annotation per unwaived finding (waived ones are notices), then the decision."""
    lines = []
    for r in results:
        for f in r.findings:
            props = [f"title={_escape_property(f'{r.check}: {f.rule}')}"]
            if f.location:
                props.insert(0, f"file={_escape_property(f.location.path)}")
                if f.location.line:
                    props.insert(1, f"line={f.location.line}")
                    if f.location.column:
                        props.insert(2, f"col={f.location.column}")
            level = "notice" if f.waived else _level(f)
            message = f.message + (f" (waived: {f.waiver_reason})" if f.waived else "")
            lines.append(f"::{level} {','.join(props)}::{_escape_data(message)}")
    lines += [f"::error title=verifier denied::{_escape_data(msg)}" for msg in decision.deny]
    lines += [f"::warning title=verifier warning::{_escape_data(msg)}" for msg in decision.warn]
    lines += [f"::notice title=verifier did not check::{_escape_data(n)}" for n in notices]
    lines.append(f"verifier: {'allowed' if decision.allowed else 'denied'}")
    return "\n".join(lines) + "\n"
