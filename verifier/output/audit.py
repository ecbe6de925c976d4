"""Renderers of the audit report: json, markdown, csv, sarif and one self-contained html page."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from html import escape

from verifier.audit.report import AuditReport, ImageRow, Problem, remediation_for
from verifier.models import Finding
from verifier.output._common import ordered, where

REPORT_FORMATS = ("html", "markdown", "json", "sarif", "csv")
# Rows per check in the human formats; the JSON/CSV reports always hold everything.
MAX_ROWS = 2000
_SEVERITIES = ("critical", "high", "medium", "low", "unknown", "info")
_COLOURS = {
    "critical": "#7f1d1d",
    "high": "#dc2626",
    "medium": "#f59e0b",
    "low": "#3b82f6",
    "unknown": "#9ca3af",
    "info": "#d1d5db",
    "admitted": "#16a34a",
    "denied": "#dc2626",
}


def render(fmt: str, report: AuditReport) -> str:
    """Render ``report`` in one of REPORT_FORMATS."""
    renderers: dict[str, Callable[[AuditReport], str]] = {
        "json": lambda r: r.model_dump_json(indent=2, by_alias=True) + "\n",
        "markdown": render_markdown,
        "csv": render_csv,
        "sarif": render_sarif,
        "html": render_html,
    }
    if fmt not in renderers:
        raise ValueError(f"unknown report format {fmt!r}")
    return renderers[fmt](report)


def render_sarif(report: AuditReport) -> str:
    """Every finding of every check, as for `check --format sarif`."""
    from verifier.output.sarif import render_sarif as sarif

    return sarif(
        report.decision,
        report.results,
        [f"skipped {p.input}: {p.reason}" for p in report.not_checked],
    )


def render_csv(report: AuditReport) -> str:
    """One row per finding (and one per result without findings, so every subject is listed)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "check",
            "subject",
            "verdict",
            "rule",
            "severity",
            "path",
            "line",
            "waived",
            "message",
            "remediation",
        ]
    )
    for result in report.results:
        if not result.findings:
            writer.writerow(
                [result.check, result.subject, result.verdict, "", "", "", "", "", "", ""]
            )
        for f in result.findings:
            loc = f.location
            writer.writerow(
                [
                    result.check,
                    result.subject,
                    result.verdict,
                    f.rule,
                    f.severity.value,
                    loc.path if loc else "",
                    (loc.line or "") if loc else "",
                    str(f.waived).lower(),
                    f.message,
                    remediation_for(result.check, f),
                ]
            )
    return out.getvalue()


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _verdicts(image: ImageRow) -> str:
    return ", ".join(f"{check}: {verdict}" for check, verdict in image.verdicts.items()) or "-"


def _remediation(report: AuditReport, check: str, finding: Finding) -> str:
    """The report's own text for the rule (what the auditing version knew), else this version's."""
    recorded = report.remediation.get(check, {}).get(finding.rule)
    return recorded if recorded is not None else remediation_for(check, finding)


def render_markdown(report: AuditReport) -> str:
    """Summary, per-repository table, could-not-audit, decisions, then the unwaived findings per check."""
    s = report.summary
    lines = [
        f"# verifier audit ({report.generated_at})",
        "",
        f"Policy bundle `{report.policy_digest}` · verifier {report.tool['version']} · "
        f"{len(report.inputs)} inputs · {s['results']} results · {len(report.could_not_audit)} could not be audited",
        "",
        "## Findings by check",
        "",
        "| Check | " + " | ".join(_SEVERITIES) + " |",
        "|---|" + "---|" * len(_SEVERITIES),
    ]
    for check, counts in s["findings"].items():
        lines.append(
            f"| `{check}` | " + " | ".join(str(counts.get(sev, 0)) for sev in _SEVERITIES) + " |"
        )
    lines += [
        "",
        "## Repositories",
        "",
        "| Repository | Score | Checked | Passed | Findings | Gate |",
        "|---|---|---|---|---|---|",
    ]
    for row in report.repositories:
        findings = ", ".join(f"{n} {sev}" for sev, n in row.findings.items()) or "none"
        gate = "" if row.allowed is None else ("allowed" if row.allowed else "denied")
        lines.append(
            f"| {_cell(row.repository)} | {row.score if row.score is not None else '-'} | {row.subjects} | "
            f"{row.passed} | {findings} | {gate} |"
        )
    if report.images:
        passed = sum(1 for i in report.images if i.passed)
        lines += [
            "",
            "## Images",
            "",
            f"{passed} of {len(report.images)} passed.",
            "",
            "| Image | Digest | Checks | Built by (verified provenance) | Result |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| `{_cell(i.image)}` | `{i.digest or '-'}` | {_verdicts(i)} | {_cell(i.built_from())} | "
            f"{'passed' if i.passed else 'failed'} |"
            for i in report.images
        ]
    for title, problems in (
        ("Could not audit", report.could_not_audit),
        ("Not checked (skipped on purpose)", report.not_checked),
    ):
        if problems:
            lines += ["", f"## {title}", ""] + [
                f"- `{_cell(p.input)}`: {_cell(p.reason)}" for p in problems
            ]
    d = report.decisions
    if d["total"]:
        lines += [
            "",
            "## Admission decisions",
            "",
            f"{d['admitted']} admitted, {d['denied']} denied.",
            "",
            "| Day | Admitted | Denied |",
            "|---|---|---|",
        ]
        lines += [f"| {day} | {v['admitted']} | {v['denied']} |" for day, v in d["by_day"].items()]
        lines += ["", "| Namespace | Admitted | Denied |", "|---|---|---|"]
        lines += [
            f"| {_cell(ns)} | {v['admitted']} | {v['denied']} |"
            for ns, v in d["by_namespace"].items()
        ]
    for check in sorted({r.check for r in report.results}):
        rows = [
            (r, f)
            for r in report.results
            if r.check == check
            for f in ordered(r.findings)
            if not f.waived
        ]
        if not rows:
            continue
        lines += [
            "",
            f"## `{check}`",
            "",
            "| Severity | Rule | Location | Message | Remediation |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {f.severity.value} | `{_cell(f.rule)}` | {_cell(where(f) or r.subject)} | {_cell(f.message)} | "
            f"{_cell(_remediation(report, check, f))} |"
            for r, f in rows[:MAX_ROWS]
        ]
        if len(rows) > MAX_ROWS:
            lines.append(f"\n_{len(rows) - MAX_ROWS} more in the JSON report._")
    return "\n".join(lines) + "\n"


def _bar_chart(
    title: str, series: dict[str, dict[str, int]], keys: tuple[str, ...], chart_id: str
) -> str:
    """A horizontal stacked bar chart as inline SVG (no scripts, no network)."""
    if not series:
        return f'<figure id="{chart_id}"><figcaption>{escape(title)}</figcaption><p class="muted">nothing to show</p></figure>'
    width, label_w, row_h = 640, 180, 26
    total_max = max(sum(v.get(k, 0) for k in keys) for v in series.values()) or 1
    rows = []
    for i, (name, values) in enumerate(series.items()):
        y = i * row_h
        x: float = label_w
        rows.append(f'<text x="0" y="{y + 17}" class="lbl">{escape(name)}</text>')
        for key in keys:
            n = values.get(key, 0)
            if not n:
                continue
            w = max(1.0, (width - label_w - 60) * n / total_max)
            rows.append(
                f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="18" fill="{_COLOURS.get(key, "#6b7280")}">'
                f"<title>{escape(name)}: {n} {escape(key)}</title></rect>"
            )
            x = x + w
        rows.append(
            f'<text x="{x + 6:.1f}" y="{y + 17}" class="num">{sum(values.get(k, 0) for k in keys)}</text>'
        )
    height = row_h * len(series) + 4
    legend = " ".join(
        f'<span class="key"><i style="background:{_COLOURS.get(k, "#6b7280")}"></i>{escape(k)}</span>'
        for k in keys
    )
    return (
        f'<figure id="{chart_id}"><figcaption>{escape(title)}</figcaption>'
        f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">{"".join(rows)}</svg>'
        f'<div class="legend">{legend}</div></figure>'
    )


_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;color:#111827;padding:0 1rem}
h1{font-size:1.6rem;margin:.2rem 0}h2{margin-top:2rem;border-bottom:1px solid #e5e7eb;padding-bottom:.3rem}
.muted{color:#6b7280}.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.card{border:1px solid #e5e7eb;border-radius:8px;padding:.8rem 1.2rem;min-width:140px}
.card b{display:block;font-size:1.7rem}.bad b{color:#dc2626}.good b{color:#16a34a}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border-bottom:1px solid #e5e7eb;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f9fafb;cursor:pointer;user-select:none;position:sticky;top:0}th:after{content:" ⇅";color:#9ca3af}
td.num,th.num{text-align:right}code{font-size:.92em}.sev{font-weight:600}
.sev-critical{color:#7f1d1d}.sev-high{color:#dc2626}.sev-medium{color:#b45309}.sev-low{color:#1d4ed8}
figure{margin:1rem 0}figcaption{font-weight:600;margin-bottom:.4rem}.lbl{font-size:12px}.num{font-size:12px;fill:#374151}
.legend{font-size:12px}.key{margin-right:.8rem}.key i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.charts{display:flex;gap:2rem;flex-wrap:wrap}details{margin:0}td{overflow-wrap:anywhere}
.ok{color:#16a34a;font-weight:600}.no{color:#dc2626;font-weight:600;cursor:pointer}details ul{margin:.3rem 0;padding-left:1.1rem;font-size:.9em}
"""

# Click a header to sort its table (numbers numerically). No network, no libraries.
_SCRIPT = """
document.querySelectorAll('table.sortable th').forEach(function(th){th.addEventListener('click',function(){
var table=th.closest('table'),body=table.tBodies[0],i=Array.prototype.indexOf.call(th.parentNode.children,th);
var asc=th.dataset.dir!=='asc';th.parentNode.querySelectorAll('th').forEach(function(h){delete h.dataset.dir});th.dataset.dir=asc?'asc':'desc';
var rows=Array.prototype.slice.call(body.rows);rows.sort(function(a,b){var x=a.cells[i].dataset.v||a.cells[i].textContent,y=b.cells[i].dataset.v||b.cells[i].textContent;
var nx=parseFloat(x),ny=parseFloat(y);var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);return asc?c:-c});
rows.forEach(function(r){body.appendChild(r)})})});
"""


def _table(
    table_id: str, headers: list[str], rows: list[list[str]], numeric: set[int] | None = None
) -> str:
    numeric = numeric or set()
    head = "".join(
        f'<th class="num">{escape(h)}</th>' if i in numeric else f"<th>{escape(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f'<table class="sortable" id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _problems_table(table_id: str, what: str, problems: list[Problem]) -> str:
    return _table(
        table_id,
        [what, "Reason"],
        [[f"<code>{escape(p.input)}</code>", escape(p.reason)] for p in problems],
    )


def _gate_cell(allowed: bool | None, deny: list[str]) -> str:
    if allowed is None:
        return ""
    if allowed:
        return '<span class="ok">allowed</span>'
    items = "".join(f"<li>{escape(reason)}</li>" for reason in deny)
    return f'<details><summary class="no">denied ({len(deny)})</summary><ul>{items}</ul></details>'


def render_html(report: AuditReport) -> str:
    """One self-contained page: cards, charts (inline SVG), sortable tables, could-not-audit, decisions."""
    s = report.summary
    unwaived = sum(sum(v.values()) for v in s["findings"].values())
    d = report.decisions
    cards = [
        ("inputs", len(report.inputs), ""),
        ("results", s["results"], ""),
        ("unwaived findings", unwaived, "bad" if unwaived else "good"),
        ("waived", s["waived"], ""),
        ("repositories", len(report.repositories), ""),
        (
            "could not audit",
            len(report.could_not_audit),
            "bad" if report.could_not_audit else "good",
        ),
    ]
    if d["total"]:
        cards += [
            ("admitted", d["admitted"], "good"),
            ("denied", d["denied"], "bad" if d["denied"] else ""),
        ]
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content='width=device-width'>",
        f"<title>verifier audit {escape(report.generated_at)}</title><style>{_STYLE}</style></head><body>",
        "<h1>verifier audit report</h1>",
        f'<p class="muted">Generated {escape(report.generated_at)} · verifier {escape(report.tool["version"])} · '
        f"policy bundle <code>{escape(report.policy_digest)}</code>"
        + (f" · shard {report.shard['index']}/{report.shard['count']}" if report.shard else "")
        + "</p>",
        '<div class="cards">'
        + "".join(
            f'<div class="card {cls}" id="card-{escape(name.replace(" ", "-"))}">'
            f"<b>{n}</b>{escape(name)}</div>"
            for name, n, cls in cards
        )
        + "</div>",
        '<div class="charts">',
        _bar_chart(
            "Unwaived findings by check and severity", s["findings"], _SEVERITIES, "chart-findings"
        ),
        _bar_chart(
            "Admission decisions by day", d["by_day"], ("admitted", "denied"), "chart-decisions"
        )
        if d["total"]
        else "",
        "</div>",
        "<h2 id=repositories>Repositories</h2>",
        _table(
            "table-repositories",
            [
                "Repository",
                "Score (0-10)",
                "Checked",
                "Passed",
                "Critical",
                "High",
                "Medium",
                "Low",
                "Gate",
            ],
            [
                [
                    escape(r.repository),
                    str(r.score if r.score is not None else "-"),
                    str(r.subjects),
                    str(r.passed),
                    str(r.findings.get("critical", 0)),
                    str(r.findings.get("high", 0)),
                    str(r.findings.get("medium", 0)),
                    str(r.findings.get("low", 0)),
                    _gate_cell(r.allowed, r.deny),
                ]
                for r in report.repositories
            ],
            numeric={1, 2, 3, 4, 5, 6, 7},
        ),
    ]
    if report.images:
        passed = sum(1 for i in report.images if i.passed)
        parts += [
            f'<h2 id=images>Images</h2><p class="muted">{passed} of {len(report.images)} passed</p>',
            _table(
                "table-images",
                ["Image", "Digest", "Checks", "Built by (verified provenance)", "Result"],
                [
                    [
                        f"<code>{escape(i.image)}</code>",
                        f"<code>{escape(i.digest or '-')}</code>",
                        escape(_verdicts(i)),
                        escape(i.built_from()),
                        '<span class="ok">passed</span>'
                        if i.passed
                        else '<span class="no">failed</span>',
                    ]
                    for i in report.images
                ],
            ),
        ]
    parts.append("<h2 id=could-not-audit>Could not audit</h2>")
    if report.could_not_audit:
        parts.append(_problems_table("table-problems", "Input", report.could_not_audit))
    else:
        parts.append('<p class="muted">Every input was audited.</p>')
    if report.not_checked:
        parts.append("<h2 id=not-checked>Not checked (skipped on purpose)</h2>")
        parts.append(_problems_table("table-not-checked", "Path", report.not_checked))
    if d["total"]:
        parts += [
            "<h2 id=decisions>Admission decisions</h2>",
            _table(
                "table-namespaces",
                ["Namespace", "Admitted", "Denied"],
                [
                    [escape(ns), str(v["admitted"]), str(v["denied"])]
                    for ns, v in d["by_namespace"].items()
                ],
                {1, 2},
            ),
            _table(
                "table-reasons",
                ["Deny reason", "Count"],
                [[escape(reason), str(n)] for reason, n in d["by_reason"].items()],
                {1},
            ),
        ]
    for check in sorted({r.check for r in report.results}):
        rows = [(r, f) for r in report.results if r.check == check for f in ordered(r.findings)]
        verdicts = s["verdicts"].get(check, {})
        parts.append(
            f'<h2 id="check-{escape(check)}">{escape(check)}</h2><p class="muted">'
            + ", ".join(f"{n} {escape(v)}" for v, n in verdicts.items())
            + f" · {len(rows)} findings</p>"
        )
        if not rows:
            continue
        table_rows = []
        for r, f in rows[:MAX_ROWS]:
            remediation = _remediation(report, check, f)
            evidence = f.properties.get("value") or f.properties.get("package") or ""
            table_rows.append(
                [
                    f'<span class="sev sev-{f.severity.value}">{f.severity.value}</span>',
                    f"<code>{escape(f.rule)}</code>",
                    escape(where(f) or r.subject),
                    escape(f.message),
                    escape(str(evidence)),
                    escape(str(remediation)),
                    "waived: " + escape(f.waiver_reason or "") if f.waived else "",
                ]
            )
        parts.append(
            _table(
                f"table-{check}",
                ["Severity", "Rule", "Location", "Message", "Evidence", "Remediation", "Waiver"],
                table_rows,
            )
        )
        if len(rows) > MAX_ROWS:
            parts.append(
                f'<p class="muted">{len(rows) - MAX_ROWS} more findings in the JSON report.</p>'
            )
    parts.append(f"<script>{_SCRIPT}</script></body></html>\n")
    return "".join(parts)
