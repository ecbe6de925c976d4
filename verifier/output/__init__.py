"""Report formats. :func:`render` maps a format name to its formatter; every name in FORMATS is handled."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, assert_never

from verifier.models import CheckResult, Decision
from verifier.output._common import ImageGroup, UpdateOutcome

Format = Literal["table", "json", "sarif", "markdown", "github"]
FORMATS: tuple[Format, ...] = ("table", "json", "sarif", "markdown", "github")


def render(
    fmt: str,
    decision: Decision,
    results: Sequence[CheckResult],
    notices: Sequence[str] = (),
    images: Sequence[ImageGroup] = (),
    updates: UpdateOutcome | None = None,
) -> str:
    """Render ``decision`` and ``results`` in ``fmt``; raises ValueError for an unknown format.

    ``notices`` name inputs that were deliberately not checked (e.g. a file GitHub would not run), so every
    format says what was left out, not only what was verified. ``images`` group the results of a release
    of several images per image (json, table, markdown). ``updates`` says what became of ``--update``
    (json, table, markdown).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    name: Format = fmt  # narrowed to the literal type by the membership test above
    if name == "table":
        from verifier.output.table import render_table

        return render_table(decision, results, notices, images, updates)
    if name == "json":
        from verifier.output.json import render_json

        return render_json(decision, results, notices, images, updates)
    if name == "sarif":
        from verifier.output.sarif import render_sarif

        return render_sarif(decision, results, notices)
    if name == "markdown":
        from verifier.output.markdown import render_markdown

        return render_markdown(decision, results, notices, images, updates)
    if name == "github":
        from verifier.output.github import render_github

        return render_github(decision, results, notices)
    assert_never(name)
