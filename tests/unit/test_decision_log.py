"""Decision log: a record for every decision whatever its values hold, one line each, never interleaved
(issue 19)."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.errors import InputError
from verifier.records.decision_log import DecisionRecord, append_record, read_records

NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
HOSTILE = [
    "Pod ns/app\nverifier: INFO: forged",
    "Pod ns/\ud800\udfff lone surrogates",
    "Pod ns/\x1b[2J ansi",
    "Pod ns/\u2028 line separator \x85 NEL \u2029 \x1c\x1d\x1e",
    "Pod ns/\r carriage return",
    'Pod ns/" quote \\ backslash',
]


def _record(subject: str, reason: str = "denied") -> DecisionRecord:
    return DecisionRecord(
        time=NOW,
        source="webhook",
        subject=subject,
        allowed=False,
        deny=(reason,),
        warn=(subject,),
        namespace=subject,
    )


def _without_surrogates(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


def test_every_hostile_value_gives_one_readable_record(tmp_path: Path) -> None:
    """Was: a lone surrogate lost the record (PydanticSerializationError); U+2028 split one record in two."""
    log = tmp_path / "decisions.jsonl"
    for subject in HOSTILE:
        append_record(log, _record(subject, reason=subject))
    assert log.read_bytes().count(b"\n") == len(HOSTILE)
    records, problems = read_records(log)
    assert problems == []
    assert [r.subject for r in records] == [_without_surrogates(s) for s in HOSTILE]
    assert [r.deny for r in records] == [(_without_surrogates(s),) for s in HOSTILE]
    log.read_bytes().decode("utf-8")  # the file is plain UTF-8


@settings(max_examples=200, derandomize=True, database=None, deadline=None)
@given(values=st.lists(st.text(), min_size=1, max_size=5))
def test_round_trip_of_any_text(
    tmp_path_factory: pytest.TempPathFactory, values: list[str]
) -> None:
    """Metamorphic: n appends give n records, each equal to what was written (surrogates as escapes)."""
    log = tmp_path_factory.mktemp("log") / "decisions.jsonl"
    for value in values:
        append_record(log, _record(value, reason=value))
    records, problems = read_records(log)
    assert problems == []
    assert [r.subject for r in records] == [_without_surrogates(v) for v in values]


def _append_many(args: tuple[str, int, int]) -> None:
    path, worker, count = args
    for i in range(count):
        # Lines far larger than a stdio buffer: a buffered writer would split them into several writes.
        append_record(path, _record(f"worker-{worker}-{i}-" + "x" * 70_000))


def test_concurrent_processes_never_interleave(tmp_path: Path) -> None:
    """Real processes appending 70 KB records at once: every line is one whole record."""
    log = tmp_path / "decisions.jsonl"
    workers, count = 4, 25
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pool.map(_append_many, [(str(log), w, count) for w in range(workers)])
    records, problems = read_records(log)
    assert problems == []
    written = sorted(r.subject.rstrip("x") for r in records)
    assert written == sorted(f"worker-{w}-{i}-" for w in range(workers) for i in range(count))


def test_unwritable_log_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        append_record(tmp_path / "missing-dir" / "decisions.jsonl", _record("Pod ns/a"))
    assert info.value.path == str(tmp_path / "missing-dir" / "decisions.jsonl")
    assert "cannot append decision record" in info.value.problem
