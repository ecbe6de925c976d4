"""``--format json``: the stable ``verifier.report/v1`` document (fields are added, never renamed).

The wire model is separate from the internal models (they may change; this may only grow). It is encoded
by msgspec, which writes the frozen dataclasses of ``verifier.models`` directly: a report with 100,000
findings is written in well under a second, and the import costs a few milliseconds (pydantic's would be
most of a short ``verifier check`` run).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any, BinaryIO

import msgspec

from verifier import __version__
from verifier.models import CheckResult, Decision
from verifier.output._common import ImageGroup, UpdateOutcome

REPORT_SCHEMA = "verifier.report/v1"


class _Tool(msgspec.Struct, frozen=True, kw_only=True):
    name: str = "verifier"
    version: str = __version__


class _Decision(msgspec.Struct, frozen=True, kw_only=True):
    allowed: bool
    deny: list[str]
    warn: list[str]


class _Image(msgspec.Struct, frozen=True, kw_only=True):
    ref: str
    digest: str | None
    results: list[int]  # indices into `results`


class _UpdatedValue(msgspec.Struct, frozen=True, kw_only=True):
    file: str
    path: str
    value: str


class _Updates(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    applied: bool
    changes: list[_UpdatedValue] = msgspec.field(default_factory=list)
    reason: str | None = None


class ReportV1(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The ``verifier.report/v1`` document (``images`` only for a release of several images, ``updates``
    only when ``--update`` was given)."""

    schema_: str = msgspec.field(name="schema")
    tool: _Tool
    decision: _Decision
    results: list[CheckResult]
    notices: list[str]  # inputs deliberately not checked, e.g. "skipped PATH: reason"
    images: list[_Image] = msgspec.field(default_factory=list)
    updates: _Updates | None = None

    @classmethod
    def build(
        cls,
        decision: Decision,
        results: Sequence[CheckResult],
        notices: Sequence[str] = (),
        images: Sequence[ImageGroup] = (),
        updates: UpdateOutcome | None = None,
    ) -> ReportV1:
        """The report for one decision."""
        index = {id(r): i for i, r in enumerate(results)}
        return cls(
            schema_=REPORT_SCHEMA,
            tool=_Tool(),
            decision=_Decision(
                allowed=decision.allowed, deny=list(decision.deny), warn=list(decision.warn)
            ),
            results=list(results),
            notices=list(notices),
            images=[
                _Image(ref=g.ref, digest=g.digest, results=[index[id(r)] for r in g.results])
                for g in images
            ]
            if len(images) > 1
            else [],
            updates=None
            if updates is None
            else _Updates(
                applied=updates.applied,
                changes=[
                    _UpdatedValue(file=c.file, path=c.path, value=c.value) for c in updates.changes
                ],
                reason=updates.reason,
            ),
        )


def _encode_other(value: Any) -> Any:
    """Values msgspec has no native encoding for, written as pydantic wrote them: paths as strings."""
    if isinstance(value, PurePath):
        return str(value)
    raise NotImplementedError(f"cannot write a {type(value).__name__} into the JSON report")


_ENCODER = msgspec.json.Encoder(enc_hook=_encode_other)


# The empty results list in the formatted report without its results, where they are written one by one.
_RESULTS_SLOT = b'\n  "results": [],\n'


def write_json(
    out: BinaryIO,
    decision: Decision,
    results: Sequence[CheckResult],
    notices: Sequence[str] = (),
    images: Sequence[ImageGroup] = (),
    updates: UpdateOutcome | None = None,
) -> None:
    """The report as indented UTF-8 JSON with a trailing newline, written result by result: the same bytes
    as formatting the whole document, without ever holding the whole text (a report of tens of thousands
    of results would otherwise be in memory three times: encoded, formatted, decoded)."""
    report = ReportV1.build(decision, results, notices, images, updates)
    head = msgspec.json.format(
        _ENCODER.encode(msgspec.structs.replace(report, results=[])), indent=2
    )
    before, slot, after = head.partition(_RESULTS_SLOT)
    if not slot:
        raise AssertionError("the report's results list is not where write_json expects it")
    if not results:
        out.write(head + b"\n")
        return
    out.write(before + b'\n  "results": [')
    for i, result in enumerate(results):
        # JSON strings never hold a raw newline: every newline here is the formatter's, indented a level.
        chunk = msgspec.json.format(_ENCODER.encode(result), indent=2).replace(b"\n", b"\n    ")
        out.write((b",\n    " if i else b"\n    ") + chunk)
    out.write(b"\n  ],\n" + after + b"\n")


def render_json(
    decision: Decision,
    results: Sequence[CheckResult],
    notices: Sequence[str] = (),
    images: Sequence[ImageGroup] = (),
    updates: UpdateOutcome | None = None,
) -> str:
    """Indented JSON with a trailing newline (:func:`write_json` into a string)."""
    buffer = io.BytesIO()
    write_json(buffer, decision, results, notices, images, updates)
    return buffer.getvalue().decode()
