"""``--format markdown``: a step summary for ``$GITHUB_STEP_SUMMARY`` (GitHub-flavoured Markdown)."""

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


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(
    decision: Decision,
    results: Sequence[CheckResult],
    notices: Sequence[str] = (),
    images: Sequence[ImageGroup] = (),
    updates: UpdateOutcome | None = None,
) -> str:
    """Decision first (what a reviewer needs), then one row per result, then findings per result."""
    title = "✅ verifier: release allowed" if decision.allowed else "❌ verifier: release denied"
    out = [f"## {title}", ""]
    if decision.deny:
        out += ["**Denied because:**", ""] + [f"- {_cell(m)}" for m in decision.deny] + [""]
    if decision.warn:
        out += ["**Warnings:**", ""] + [f"- {_cell(m)}" for m in decision.warn] + [""]
    if updates is not None:
        out += ["**GitOps update:**", ""] + [f"- {_cell(line)}" for line in updates.lines()] + [""]
    if len(images) > 1:
        out += ["**Images:**", ""] + [f"- `{_cell(line)}`" for line in image_lines(images)] + [""]
    out += ["| Check | Subject | Verdict | Findings |", "|---|---|---|---|"]
    out += [
        f"| `{r.check}` | `{_cell(r.subject)}` | {r.verdict} | {_cell(summary(r))} |"
        for r in results
    ]
    for r in results:
        shown = ordered(r.findings)[:MAX_FINDINGS_SHOWN]
        if not shown:
            continue
        out += [
            "",
            f"<details><summary><code>{r.check}</code> · {_cell(r.subject)}: {_cell(summary(r))}"
            "</summary>",
            "",
            "| Severity | Rule | Message | Location | Waived |",
            "|---|---|---|---|---|",
        ]
        for f in shown:
            waived = f"yes: {_cell(f.waiver_reason or '')}" if f.waived else ""
            out.append(
                f"| {f.severity.value} | `{_cell(f.rule)}` | {_cell(f.message)} | {_cell(where(f))} | {waived} |"
            )
        if len(r.findings) > len(shown):
            out.append(f"\n_{len(r.findings) - len(shown)} more findings in the JSON report._")
        out += ["", "</details>"]
    if notices:
        out += ["", "**Not checked:**", ""] + [f"- {_cell(n)}" for n in notices]
    return "\n".join(out) + "\n"
