"""logsafe: every logged value is escaped, so no value can forge a log line or lose the record (issue 19)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier._internal.logsafe import CONTINUATION, SafeFormatter, escape, install

PREFIX = "verifier: %(levelname)s: %(message)s"


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger with a real StreamHandler (the CLI's format) wrapped by install()."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(PREFIX))
    logger = logging.getLogger("verifier.test-logsafe")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    install(logger)
    yield logger, stream
    logger.handlers = []


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("a\nverifier: INFO: forged", "a\\nverifier: INFO: forged"),
        ("a\r\nb", "a\\r\\nb"),
        ("\x1b[2J\x1b[31mred", "\\x1b[2J\\x1b[31mred"),
        ("lone \ud800 surrogate", "lone \\ud800 surrogate"),
        ("nul\x00 del\x7f c1\x85", "nul\\x00 del\\x7f c1\\x85"),
        ("sep\u2028par\u2029", "sep\\u2028par\\u2029"),
        ("bidi \u202eevil\u2066", "bidi \\u202eevil\\u2066"),
        ("tab\there", "tab\\there"),
        ("plain é ü 中 ✓ ghcr.io/a/b@sha256:00", "plain é ü 中 ✓ ghcr.io/a/b@sha256:00"),
    ],
)
def test_values_are_escaped(
    logged: tuple[logging.Logger, io.StringIO], value: str, shown: str
) -> None:
    logger, stream = logged
    logger.info("image %s denied", value)
    assert stream.getvalue() == f"verifier: INFO: image {shown} denied\n"


def test_the_message_itself_is_escaped(logged: tuple[logging.Logger, io.StringIO]) -> None:
    """Values put into the message with an f-string are escaped just the same."""
    logger, stream = logged
    name = "x\nverifier: INFO: forged"
    logger.warning(f"lookup {name}")  # noqa: G004 - the case under test
    assert stream.getvalue() == "verifier: WARNING: lookup x\\nverifier: INFO: forged\n"


def test_traceback_lines_are_indented_and_escaped(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = logged
    try:
        raise ValueError("bad image\nverifier: INFO: forged\x1b[0m")
    except ValueError:
        logger.exception("lookup %s failed", "img")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "verifier: ERROR: lookup img failed"
    assert lines[1] == CONTINUATION + "Traceback (most recent call last):"
    assert all(line.startswith(CONTINUATION) for line in lines[1:])
    assert lines[-2:] == [
        CONTINUATION + "ValueError: bad image",
        CONTINUATION + "verifier: INFO: forged\\x1b[0m",
    ]


def test_a_broken_format_string_keeps_the_record() -> None:
    record = logging.LogRecord("verifier", logging.INFO, __file__, 1, "%d images", ("many",), None)
    line = SafeFormatter(logging.Formatter(PREFIX)).format(record)
    assert line == "verifier: INFO: '%d images' (could not format the message: TypeError)"


def test_install_is_idempotent_and_keeps_the_format() -> None:
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter(PREFIX))
    logger = logging.getLogger("verifier.test-logsafe-idem")
    logger.handlers = [handler]
    install(logger)
    first = handler.formatter
    install(logger)
    assert handler.formatter is first
    assert isinstance(first, SafeFormatter)
    assert first.inner._fmt == PREFIX  # noqa: SLF001 - the wrapped format is the CLI's
    logger.handlers = []


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(value=st.text())
def test_any_value_gives_one_encodable_line(value: str) -> None:
    """Property: whatever a value holds, the record is one line that UTF-8 can encode."""
    record = logging.LogRecord("verifier", logging.INFO, __file__, 1, "v=%s", (value,), None)
    line = SafeFormatter(logging.Formatter(PREFIX)).format(record)
    assert len(line.splitlines()) == 1
    line.encode("utf-8")
    assert escape(line) == line  # nothing left to escape
