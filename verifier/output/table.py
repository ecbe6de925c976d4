"""``--format table``: the human report for a terminal."""

from __future__ import annotations

from collections.abc import Sequence

from verifier.models import CheckResult, Decision
from verifier.output._common import (
    MAX_FINDINGS_SHOWN,
    ImageGroup,
    UpdateOutcome,
    image_lines,
    ordered,
    summary,
    where,
)


def render_table(
    decision: Decision,
    results: Sequence[CheckResult],
    notices: Sequence[str] = (),
    images: Sequence[ImageGroup] = (),
    updates: UpdateOutcome | None = None,
) -> str:
    """Results, their findings (unwaived first, capped), then the decision with every reason and what
    became of ``--update``."""
    lines: list[str] = []
    if results:
        width_check = max(len("CHECK"), *(len(r.check) for r in results))
        width_verdict = max(len("VERDICT"), *(len(r.verdict) for r in results))
        width_subject = max(len("SUBJECT"), *(len(r.subject) for r in results))
        header = f"{'CHECK':<{width_check}}  {'VERDICT':<{width_verdict}}  {'SUBJECT':<{width_subject}}  FINDINGS"
        lines += [header, "-" * len(header)]
        for r in results:
            lines.append(
                f"{r.check:<{width_check}}  {r.verdict:<{width_verdict}}  "
                f"{r.subject:<{width_subject}}  {summary(r)}"
            )
    else:
        lines.append("no results")
    for r in results:
        shown = ordered(r.findings)[:MAX_FINDINGS_SHOWN]
        if not shown:
            continue
        lines += ["", f"{r.check} · {r.subject}"]
        for f in shown:
            mark = "waived " if f.waived else ""
            place = where(f)
            lines.append(
                f"  {mark}{f.severity.value:<8} {f.rule:<24} {f.message}"
                + (f"  ({place})" if place else "")
            )
            if f.waived and f.waiver_reason:
                lines.append(f"           reason: {f.waiver_reason}")
        hidden = len(r.findings) - len(shown)
        if hidden > 0:
            lines.append(f"  ... and {hidden} more (use --format json for all)")
    if len(images) > 1:
        lines += ["", "IMAGES"] + [f"  {line}" for line in image_lines(images)]
    if notices:
        lines += ["", "NOT CHECKED"] + [f"  {n}" for n in notices]
    lines.append("")
    lines.append("DECISION: " + ("ALLOWED" if decision.allowed else "DENIED"))
    lines += [f"  deny: {msg}" for msg in decision.deny]
    lines += [f"  warn: {msg}" for msg in decision.warn]
    if updates is not None:
        lines += ["", "GITOPS UPDATE"] + [f"  {line}" for line in updates.lines()]
    return "\n".join(lines) + "\n"
