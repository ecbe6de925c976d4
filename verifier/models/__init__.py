"""Frozen value types shared by checks, policy and output.

They are frozen stdlib dataclasses (slots, keyword-only) rather than pydantic models: nothing here parses
untrusted input (sources validate what they read; pydantic still validates these types where they are read
back, e.g. audit reports), and importing pydantic cost about 0.1 s of every short ``verifier check`` run.
"""

from verifier.models.decision import Decision
from verifier.models.finding import Finding, Location, Severity
from verifier.models.result import CheckResult, Subject, Verdict

__all__ = ["CheckResult", "Decision", "Finding", "Location", "Severity", "Subject", "Verdict"]
