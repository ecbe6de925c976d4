"""``verifier report render REPORT.json --format markdown|sarif|github|table|json``.

Renders a ``verifier.report/v1`` document that ``--format json`` wrote into another format, byte for byte
what the deciding command would have printed in that format. The Action runs the gate once with
``--format json`` and renders the step summary and the SARIF upload from that one file, so every artifact
shows the same decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click
import msgspec

from verifier import __version__
from verifier.errors import InputError
from verifier.models import CheckResult, Decision
from verifier.output._common import ImageGroup, UpdatedValue, UpdateOutcome

REPORT_SCHEMA = "verifier.report/v1"
# Reports are the gate's own output; the largest real ones (100,000 findings) stay far below this.
MAX_REPORT_BYTES = 256 * 1024 * 1024
RENDER_FORMATS = ("table", "json", "sarif", "markdown", "github")


class _Tool(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    version: str


class _Decision(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    allowed: bool
    deny: list[str]
    warn: list[str]


class _Image(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    ref: str
    digest: str | None
    results: list[int]


class _UpdatedValue(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    file: str
    path: str
    value: str


class _Updates(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    applied: bool
    changes: list[_UpdatedValue] = msgspec.field(default_factory=list)
    reason: str | None = None


# Unknown fields are refused: a field this renderer does not model would be silently left out.
class _Report(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    schema: str
    tool: _Tool
    decision: _Decision
    results: list[CheckResult]
    notices: list[str] = msgspec.field(default_factory=list)
    images: list[_Image] = msgspec.field(default_factory=list)
    updates: _Updates | None = None


@dataclass(frozen=True)
class Report:
    """A decision as a deciding command reported it: what :func:`verifier.output.render` takes."""

    decision: Decision
    results: list[CheckResult]
    notices: list[str]
    images: list[ImageGroup]
    updates: UpdateOutcome | None = None


_DECODER = msgspec.json.Decoder(_Report)


def read_report(data: bytes, name: str) -> Report:
    """Parse a ``verifier.report/v1`` document written by this version; InputError names what is wrong.

    Refused: another schema, another verifier version (its formats may differ, so the rendering would not
    be what that version printed), and a decision that contradicts itself (allowed with deny reasons).
    """
    try:
        report = _DECODER.decode(data)
    except RecursionError:
        raise InputError(name, "JSON is nested too deeply") from None
    except msgspec.ValidationError as exc:
        raise InputError(name, f"not a {REPORT_SCHEMA} document: {exc}") from None
    except msgspec.DecodeError as exc:
        raise InputError(name, f"not valid JSON: {exc}") from None
    if report.schema != REPORT_SCHEMA:
        raise InputError(name, f"schema is {report.schema!r}, expected {REPORT_SCHEMA!r}")
    if report.tool.name != "verifier" or report.tool.version != __version__:
        raise InputError(
            name,
            f"written by {report.tool.name} {report.tool.version}; render it with the verifier "
            f"that wrote it (this is verifier {__version__})",
        )
    decision = report.decision
    if decision.allowed == bool(decision.deny):
        state = "allowed" if decision.allowed else "denied"
        raise InputError(
            name, f"decision is {state} with {len(decision.deny)} deny reasons: not a real decision"
        )
    images = []
    for image in report.images:
        if any(not 0 <= i < len(report.results) for i in image.results):
            raise InputError(name, f"image {image.ref} names a result the report does not have")
        images.append(
            ImageGroup(
                ref=image.ref,
                digest=image.digest,
                results=tuple(report.results[i] for i in image.results),
            )
        )
    updates = None
    if report.updates is not None:
        if report.updates.applied == (report.updates.reason is not None) or (
            report.updates.changes and not report.updates.applied
        ):
            raise InputError(name, "updates: applied and reason contradict each other")
        updates = UpdateOutcome(
            applied=report.updates.applied,
            changes=tuple(UpdatedValue(c.file, c.path, c.value) for c in report.updates.changes),
            reason=report.updates.reason,
        )
    return Report(
        decision=Decision(
            allowed=decision.allowed, deny=tuple(decision.deny), warn=tuple(decision.warn)
        ),
        results=report.results,
        notices=report.notices,
        images=images,
        updates=updates,
    )


@click.group("report")
def group() -> None:
    """Work with reports that a deciding command wrote as JSON."""


@group.command("render")
@click.argument("report_path", metavar="REPORT", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "format_",
    type=click.Choice(RENDER_FORMATS),
    required=True,
    help="The format to print: what the deciding command would have printed with this --format.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of stdout.",
)
def render_command(report_path: Path, format_: str, output: Path | None) -> None:
    """Render REPORT (a verifier.report/v1 file from --format json) in another format.

    Exit 0 when rendered, whatever the decision; 2 when REPORT is unreadable or not such a report.
    """
    from verifier.adapters.common import write_output
    from verifier.output import render
    from verifier.sources.files import read_bytes

    name = str(report_path)
    report = read_report(read_bytes(report_path, MAX_REPORT_BYTES), name)
    text = render(
        format_, report.decision, report.results, report.notices, report.images, report.updates
    )
    write_output(text, output)
