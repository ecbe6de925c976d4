"""Pure helpers every layer may use: sizes in words, JSON decoded with errors that name the input."""

from __future__ import annotations

import json
import sys
from typing import Any

from verifier.errors import InputError

MIB = 1024 * 1024


def human_size(n: int) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def parse_json(data: bytes | str, name: str) -> Any:
    """``json.loads`` with errors that name the input, including excessive nesting and huge integers."""
    try:
        return json.loads(data)
    except RecursionError:
        raise InputError(name, "JSON is nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise InputError(name, f"not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            name, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except ValueError:
        # int() refuses numbers of more than sys.get_int_max_str_digits() digits (CVE-2020-10735).
        limit = sys.get_int_max_str_digits()
        raise InputError(name, f"a number in the JSON has more than {limit} digits") from None
