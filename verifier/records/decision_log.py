"""Decision records: one JSON line per decision, appended by the gate and the webhook when configured.

Compatible in spirit with OPA decision logs: ``{time, source, subject, digest, allowed, deny, warn,
policy_digest, namespace}``. ``read_records`` never stops at a bad line: it returns the good records and a
problem per bad line, so an audit still counts everything that can be read.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from verifier.errors import InputError
from verifier.models import Decision
from verifier.sources.files import DEFAULT_MAX_BYTES, read_text


class DecisionRecord(BaseModel):
    """One admission decision."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    time: datetime
    source: str  # "gate" | "webhook"
    subject: str
    digest: str | None = None
    allowed: bool
    deny: tuple[str, ...] = ()
    warn: tuple[str, ...] = ()
    policy_digest: str | None = None
    namespace: str | None = None

    @classmethod
    def of(
        cls,
        decision: Decision,
        *,
        time: datetime,
        source: str,
        subject: str,
        digest: str | None = None,
        policy_digest: str | None = None,
        namespace: str | None = None,
    ) -> DecisionRecord:
        """The record of one decision."""
        return cls(
            time=time,
            source=source,
            subject=subject,
            digest=digest,
            allowed=decision.allowed,
            deny=decision.deny,
            warn=decision.warn,
            policy_digest=policy_digest,
            namespace=namespace,
        )


def append_record(path: str | os.PathLike[str], record: DecisionRecord) -> None:
    """Append one line, whatever the values hold, with one ``write`` (concurrent appenders do not interleave).

    Newlines, other control characters and Unicode line separators are JSON escapes, so no value can start a
    line of its own; a lone
    surrogate (which has no UTF-8 form, and used to lose the record) is written as the text ``\\udXXX``.
    """
    line = json.dumps(
        _encodable(record.model_dump(mode="json")), ensure_ascii=False, separators=(",", ":")
    )
    data = (line.translate(_LINE_BREAKS) + "\n").encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(fd, data)
            while written < len(data):  # only on a full disk or a signal; the rest still follows
                written += os.write(fd, data[written:])
        finally:
            os.close(fd)
    except OSError as exc:
        raise InputError(os.fspath(path), f"cannot append decision record: {exc.strerror}") from exc


# Line breaks that JSON leaves raw but str.splitlines() and some log tools split on (escaped they are the
# same JSON string).
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})
_SURROGATE = re.compile("[\ud800-\udfff]")


def _encodable(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings replaced by its escape text."""
    if isinstance(value, str):
        return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    if isinstance(value, list):
        return [_encodable(item) for item in value]
    if isinstance(value, dict):
        return {_encodable(key): _encodable(item) for key, item in value.items()}
    return value


def read_records(
    path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[list[DecisionRecord], list[str]]:
    """Every valid record of a decision log, and ``"file:line: problem"`` for each line that is not."""
    name = os.fspath(path)
    records: list[DecisionRecord] = []
    problems: list[str] = []
    # Records end with "\n" only; splitlines() would also split inside a value at U+2028, U+0085, \x1c...
    for number, line in enumerate(read_text(name, max_bytes).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            records.append(DecisionRecord.model_validate(json.loads(line)))
        except (json.JSONDecodeError, RecursionError):
            problems.append(f"{name}:{number}: not a JSON object")
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "record"
            problems.append(f"{name}:{number}: {where}: {first['msg']}")
    return records, problems


def is_decision_log(path: Path) -> bool:
    """Decision logs are ``*.jsonl`` / ``*.ndjson`` files."""
    return path.suffix in (".jsonl", ".ndjson")


def summarise(records: Sequence[DecisionRecord]) -> dict[str, object]:
    """Admitted/denied in total, per day, per namespace and per deny reason (sorted, for reproducible reports)."""
    by_day: dict[str, dict[str, int]] = {}
    by_namespace: dict[str, dict[str, int]] = {}
    by_reason: dict[str, int] = {}
    by_source: dict[str, int] = {}
    for record in records:
        outcome = "admitted" if record.allowed else "denied"
        day = record.time.strftime("%Y-%m-%d")
        by_day.setdefault(day, {"admitted": 0, "denied": 0})[outcome] += 1
        namespace = record.namespace or "(none)"
        by_namespace.setdefault(namespace, {"admitted": 0, "denied": 0})[outcome] += 1
        by_source[record.source] = by_source.get(record.source, 0) + 1
        for reason in record.deny:
            by_reason[reason] = by_reason.get(reason, 0) + 1
    return {
        "total": len(records),
        "admitted": sum(1 for r in records if r.allowed),
        "denied": sum(1 for r in records if not r.allowed),
        "by_day": dict(sorted(by_day.items())),
        "by_namespace": dict(sorted(by_namespace.items())),
        "by_reason": dict(sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))),
        "by_source": dict(sorted(by_source.items())),
    }
