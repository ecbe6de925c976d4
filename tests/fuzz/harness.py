"""Run ``verifier`` in-process on fuzzed input and check what every entry point promises.

The promise (DESIGN.md, exit codes): exit 0, 1, 2 or 3, never a traceback, and never exit 0 on input that
the reference parser (json, libyaml, a schema) rejects. :func:`invoke` calls ``verifier.adapters.cli:main``
as the console script would (see tests/cli.py); an exception that escapes ``main`` is the crash the fuzzers
look for, so it is re-raised with the command line and the input file for hypothesis to shrink.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from hypothesis import currently_in_test_context, reject

from verifier.adapters.cli import main

EXIT_CODES = frozenset({0, 1, 2, 3})


@dataclass(frozen=True)
class Outcome:
    """Exit code and both streams of one run."""

    code: int
    out: str
    err: str


class CrashError(AssertionError):
    """An entry point broke its promise (exception, traceback, unknown exit code or a wrong exit 0)."""


@contextlib.contextmanager
def _no_network() -> Iterator[None]:
    """Send any HTTP(S) attempt to a closed local port, so a fuzzed name never reaches a real host."""
    names = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(
        HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", ALL_PROXY="", NO_PROXY=""
    )
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def invoke(*args: str | Path) -> Outcome:
    """``verifier ARGS…`` in-process; raises CrashError when the run breaks the exit-code promise."""
    argv = [str(arg) for arg in args]
    # Streams that encode as a real process's do (UTF-8; stdout strict, stderr backslashreplace), so that
    # text the terminal or a pipe cannot take (a lone surrogate) fails here as it would for a user.
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(
        io.BytesIO(), encoding="utf-8", errors="backslashreplace", write_through=True
    )
    code: object = None
    with _no_network(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code
        except BaseException as exc:
            crash = CrashError(f"verifier {' '.join(argv)}: {type(exc).__name__}: {exc}")
            crash.__cause__ = exc
            if is_known_crash(crash) and currently_in_test_context():
                reject()
            raise crash from exc
    outcome = Outcome(code if isinstance(code, int) else -1, _text(out), _text(err))
    if outcome.code not in EXIT_CODES:
        raise CrashError(f"verifier {' '.join(argv)}: exit {code!r}\n{outcome.err[-2000:]}")
    if "Traceback (most recent call last)" in outcome.out + outcome.err:
        raise CrashError(f"verifier {' '.join(argv)}: printed a traceback\n{outcome.err[-2000:]}")
    return outcome


# Crashes found in other slices' code, each kept as an xfail(strict=True) reproducer in test_regressions.py:
# (file, function) of the innermost frame in verifier/. The fuzz tests set such inputs aside (hypothesis
# ``reject``) so that they keep looking for new crashes; remove the entry when its xfail turns into an XPASS.
KNOWN_CRASHES: tuple[tuple[str, str], ...] = ()


def is_known_crash(crash: CrashError) -> bool:
    """True when the exception behind ``crash`` was raised in one of KNOWN_CRASHES."""
    cause = crash.__cause__
    frame = cause.__traceback__ if cause is not None else None
    innermost: tuple[str, str] | None = None
    while frame is not None:
        code = frame.tb_frame.f_code
        if "/verifier/" in code.co_filename:
            innermost = (code.co_filename, code.co_name)
        frame = frame.tb_next
    return innermost is not None and any(
        innermost[0].endswith(path) and innermost[1] == function for path, function in KNOWN_CRASHES
    )


def _text(stream: io.TextIOWrapper) -> str:
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode("utf-8")


def json_rejects(data: bytes) -> bool:
    """True when the reference parser refuses ``data`` as a JSON document (UTF-8, RFC 8259 via json)."""
    try:
        json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        return True
    return False


def yaml_rejects(data: bytes, *, construct: bool = True) -> bool:
    """True when libyaml (PyYAML's CSafeLoader) refuses ``data`` as a YAML stream: when parsing it, or with
    ``construct`` also when building Python values (bad merge keys, unknown tags, impossible dates)."""
    try:
        text = data.decode("utf-8")
        if construct:
            for _ in yaml.load_all(text, Loader=yaml.CSafeLoader):
                pass
        else:
            for _ in yaml.compose_all(text, Loader=yaml.CSafeLoader):
                pass
    except (yaml.YAMLError, ValueError, RecursionError):
        return True
    return False


def require_not_allowed(outcome: Outcome, why: str) -> None:
    """Raise CrashError if the run exited 0 although the input is invalid for ``why``."""
    if outcome.code == 0:
        raise CrashError(f"exit 0 on input that {why}\n{outcome.out[-1000:]}{outcome.err[-1000:]}")
