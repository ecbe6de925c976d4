"""Frozen value types shared by checks, policy and output."""

from verifier.models.decision import Decision
from verifier.models.finding import Finding, Location, Severity
from verifier.models.result import CheckResult, Subject, Verdict

__all__ = ["CheckResult", "Decision", "Finding", "Location", "Severity", "Subject", "Verdict"]
