"""Helpers shared by the human-readable formats."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from verifier.models import CheckResult, Finding, Severity

# How many findings per result the human formats show before summarising the rest.
MAX_FINDINGS_SHOWN = 50


@dataclasses.dataclass(frozen=True)
class ImageGroup:
    """The results about one image of a release."""

    ref: str
    digest: str | None
    results: tuple[CheckResult, ...]


@dataclasses.dataclass(frozen=True)
class UpdatedValue:
    """One value ``--update`` wrote (or would have written): the file as named, the path, the value."""

    file: str
    path: str
    value: str


@dataclasses.dataclass(frozen=True)
class UpdateOutcome:
    """What became of a deciding command's ``--update`` edits: every file rewritten (``applied``), or none
    of them, with the reason (a denied release, or the error that stopped the edit before any file changed).
    """

    applied: bool
    changes: tuple[UpdatedValue, ...] = ()
    reason: str | None = None

    def lines(self) -> list[str]:
        """One line per written value, or one saying why nothing was written (human formats)."""
        if self.applied:
            return [f"updated {c.file}: {c.path} = {c.value}" for c in self.changes]
        return [f"not applied: {self.reason}"]


def image_groups(
    results: Sequence[CheckResult], digests: Mapping[str, str], images: Sequence[str]
) -> list[ImageGroup]:
    """The results of each image, in the release's order (a result is about an image when its subject is
    the image's reference, pinned by the verified digest or not)."""
    groups = []
    for ref in images:
        digest = digests.get(ref)
        names = {ref, f"{ref}@{digest}"} if digest else {ref}
        groups.append(ImageGroup(ref, digest, tuple(r for r in results if r.subject in names)))
    return groups


def image_lines(groups: Sequence[ImageGroup]) -> list[str]:
    """``ref@digest: check verdict, ...`` per image (human formats, releases of several images)."""
    lines = []
    for g in groups:
        verdicts = ", ".join(f"{r.check} {r.verdict}" for r in g.results) or "no image checks"
        lines.append(f"{g.ref}" + (f" ({g.digest})" if g.digest else "") + f": {verdicts}")
    return lines


def severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    """Unwaived findings per severity, most severe first, zero counts left out."""
    counts = Counter(f.severity for f in findings if not f.waived)
    return {s.value: counts[s] for s in sorted(counts, key=lambda s: -s.rank)}


def summary(result: CheckResult) -> str:
    """``'3 critical, 1 high; 2 waived'`` or ``'no findings'``."""
    counts = severity_counts(result.findings)
    waived = sum(1 for f in result.findings if f.waived)
    parts = ", ".join(f"{n} {sev}" for sev, n in counts.items())
    if waived:
        parts = f"{parts}; {waived} waived" if parts else f"{waived} waived"
    return parts or "no findings"


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Unwaived first, then by severity (most severe first), then by location and rule."""

    def key(f: Finding) -> tuple[bool, int, str, int, str]:
        loc = f.location
        return (
            f.waived,
            -f.severity.rank,
            loc.path if loc else "",
            (loc.line or 0) if loc else 0,
            f.rule,
        )

    return sorted(findings, key=key)


def where(finding: Finding) -> str:
    """``path:line:col`` (as much as is known), or ``''``."""
    loc = finding.location
    if loc is None:
        return ""
    text = loc.path
    if loc.line is not None:
        text += f":{loc.line}"
        if loc.column is not None:
            text += f":{loc.column}"
    return text


def is_blocking_severity(severity: Severity) -> bool:
    """High and critical are shown as errors in annotation-style formats."""
    return severity.rank >= Severity.HIGH.rank
