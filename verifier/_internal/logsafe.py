"""Log lines that cannot be forged: every logged value has its control characters escaped.

An image name, a namespace or an error message from a registry is attacker-controlled. Written raw, a
newline in it starts a new, forged log line ("verifier: INFO: uid=…: admitted"), an ANSI escape rewrites
the terminal, and a lone surrogate cannot even be encoded (the record is lost). :class:`SafeFormatter`
wraps the formatter of a handler and escapes the message after its arguments are filled in; a traceback
keeps its lines, each indented with ``"  | "`` and escaped, so text inside an exception message can never
pass for a line of its own. :func:`install` puts it on every handler of a logger (the root logger by
default): the CLI calls it where it configures logging, and the webhook server when it starts.
"""

from __future__ import annotations

import logging
import re

__all__ = ["SafeFormatter", "escape", "install"]

# C0 and C1 controls and DEL, Unicode line/paragraph separators, bidirectional overrides and isolates
# ("Trojan Source"), and lone surrogates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
CONTINUATION = "  | "


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """``text`` with every control character, separator, bidi override and lone surrogate written as a
    Python-style escape (``\\n``, ``\\x1b``, ``\\ud800``); all other characters are kept."""
    return _UNSAFE.sub(_escape_char, text)


class SafeFormatter(logging.Formatter):
    """Formats like ``inner`` (or the default format), with every value escaped (see the module)."""

    def __init__(self, inner: logging.Formatter | None = None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line, plus indented traceback lines when it carries an exception."""
        safe = logging.makeLogRecord(record.__dict__)
        try:
            message = record.getMessage()
        except Exception as exc:  # a broken format string or __str__ must not lose the record
            message = f"{record.msg!r} (could not format the message: {type(exc).__name__})"
        safe.msg, safe.args = escape(message), None
        exc_text = record.exc_text
        if record.exc_info and not exc_text:
            exc_text = self.inner.formatException(record.exc_info)
        safe.exc_info, safe.exc_text = None, _block(exc_text) if exc_text else None
        safe.stack_info = _block(record.stack_info) if record.stack_info else None
        return self.inner.format(safe)


def _block(text: str) -> str:
    """A multi-line text (a traceback) as escaped, indented continuation lines."""
    return "\n".join(CONTINUATION + escape(line) for line in text.split("\n"))


def install(logger: logging.Logger | None = None) -> None:
    """Wrap the formatter of every handler of ``logger`` (default: the root logger) in SafeFormatter."""
    target = logger if logger is not None else logging.getLogger()
    for handler in target.handlers:
        if not isinstance(handler.formatter, SafeFormatter):
            handler.setFormatter(SafeFormatter(handler.formatter))
