"""The audit report's remediation table (``verifier/audit/remediation.json``) is the check docs' own text.

For every rule id under "## Rules" in ``docs/checks/<check>.md`` the table holds the rule's
"Remediation:" paragraph, or, where the docs have none, the rule's first paragraph (what is wrong, which
for those rules says what to change), and the link to the rule's anchor. This test derives the table from
the docs and compares: a rule added, renamed or reworded in the docs fails here until the table is
regenerated (and reviewed)::

    VERIFIER_UPDATE_REMEDIATION=1 pytest tests/unit/test_audit_remediation.py
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from verifier.audit.report import REMEDIATION_TABLE, remediation_for, remediation_table
from verifier.checks._base import DOCS_BASE
from verifier.models import Finding, Severity

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "checks"
UPDATE = os.environ.get("VERIFIER_UPDATE_REMEDIATION") == "1"
_RULE_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_REMEDIATION = re.compile(r"\*{0,2}Remediation:\*{0,2}\s*(.*)", re.DOTALL)


def _paragraphs(text: str) -> list[str]:
    """Prose paragraphs (fenced code blocks left out), each on one line."""
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation other than ``-`` and ``_``
    dropped, each space a ``-`` (so "a / b" is ``a--b``)."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def table_from_docs() -> dict[str, dict[str, dict[str, str | bool]]]:
    """``{check: {rule: {remediation, explicit, docs}}}`` derived from docs/checks/*.md."""
    table: dict[str, dict[str, dict[str, str | bool]]] = {}
    for page in sorted(DOCS.glob("*.md")):
        check = page.stem
        rules_part = page.read_text(encoding="utf-8").split("\n## Rules\n", 1)[1]
        rules_part = re.split(r"\n## ", rules_part)[0]
        entries: dict[str, dict[str, str | bool]] = {}
        for section in re.split(r"\n### ", rules_part)[1:]:
            heading, _, body = section.partition("\n")
            paragraphs = _paragraphs(body)
            explicit = next((m.group(1) for p in paragraphs if (m := _REMEDIATION.search(p))), None)
            if explicit:
                explicit = explicit[0].upper() + explicit[1:]
            # "a / b / c" documents several rules at once; "…" in such a list is prose, not a rule id.
            for rule in (r.strip() for r in heading.split("/") if _RULE_ID.match(r.strip())):
                entries[rule] = {
                    "remediation": explicit or (paragraphs[0] if paragraphs else ""),
                    "explicit": explicit is not None,
                    "docs": f"{DOCS_BASE}/{check}.md#{github_anchor(heading)}",
                }
        table[check] = dict(sorted(entries.items()))
    return table


def test_table_is_the_docs_text() -> None:
    expected = table_from_docs()
    if UPDATE:
        REMEDIATION_TABLE.write_text(
            json.dumps(expected, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        remediation_table.cache_clear()
    assert json.loads(REMEDIATION_TABLE.read_text(encoding="utf-8")) == expected, (
        "verifier/audit/remediation.json differs from docs/checks/*.md: regenerate (see the docstring)"
    )


def test_every_documented_rule_has_remediation_text() -> None:
    table = remediation_table()
    assert set(table) == {p.stem for p in DOCS.glob("*.md")}
    for check, rules in table.items():
        assert rules, check
        for rule, entry in rules.items():
            assert len(str(entry["remediation"])) > 20, (check, rule)
    assert table["actions-pinned"]["unpinned-uses"]["remediation"].startswith(
        "Pin to the commit the tag points to today"
    )


def _finding(rule: str, **properties: str) -> Finding:
    return Finding(rule=rule, severity=Severity.HIGH, message="m", properties=properties)


def test_remediation_for_a_rule_a_scanner_id_and_an_unknown_rule() -> None:
    table = remediation_table()
    assert (
        remediation_for("signature", _finding("no-signature"))
        == table["signature"]["no-signature"]["remediation"]
    )
    generic = table["sarif-severity"]["unwaived-severity"]["remediation"]
    cve = remediation_for(
        "sarif-severity", _finding("CVE-2019-1549", package="libssl1.1", fixed_version="1.1.1d-r0")
    )
    assert cve.startswith("Upgrade libssl1.1 to 1.1.1d-r0 or later.") and cve.endswith(generic)
    unfixed = remediation_for("sarif-severity", _finding("CVE-2024-0001", package="zlib"))
    assert unfixed.startswith("No fixed version of zlib yet")
    assert remediation_for("oidc-trust", _finding("a-rule-the-docs-do-not-have")) == (
        f"See {DOCS_BASE}/oidc-trust.md"
    )


def test_every_docs_link_points_at_a_heading_of_its_page() -> None:
    """A rule documented under a shared heading ("a / b") links to that heading, not to a missing #a."""
    for check, rules in remediation_table().items():
        text = (DOCS / f"{check}.md").read_text(encoding="utf-8")
        anchors = {github_anchor(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}
        for rule, entry in rules.items():
            anchor = str(entry["docs"]).rsplit("#", 1)[1]
            assert anchor in anchors, (check, rule, anchor)
    assert github_anchor("key-required / key-mismatch") == "key-required--key-mismatch"
