"""The error tree. Library code raises these; only adapters turn them into exit codes.

``str(err)`` is log text; ``err.diagnostics()`` is what a user sees. Exit codes follow DESIGN.md:
2 for usage and unreadable/invalid input, 3 when the run could not be evaluated (callers treat 3 as deny).
"""

from __future__ import annotations

EXIT_ALLOWED = 0
EXIT_DENIED = 1
EXIT_INPUT = 2
EXIT_UNEVALUATED = 3


class VerifierError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code: int = EXIT_UNEVALUATED

    def diagnostics(self) -> str:
        """The message for a person, without internals."""
        return str(self)


class InputError(VerifierError):
    """An input file is missing, unreadable, too large or malformed.

    The message always names the file and what is wrong with it.
    """

    exit_code = EXIT_INPUT

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class ConfigError(VerifierError):
    """The configuration (``verifier.yaml`` or options) is invalid."""

    exit_code = EXIT_INPUT


class SourceError(VerifierError):
    """Evidence could not be collected (registry, layout, network)."""

    exit_code = EXIT_UNEVALUATED


class NetworkError(SourceError):
    """A remote service did not answer or answered with an error."""

    def diagnostics(self) -> str:
        """Add the hint users most often need."""
        return (
            f"{self}\n(is the service reachable from here? a proxy or firewall may be blocking it)"
        )


class PolicyError(VerifierError):
    """The policy bundle could not be loaded or evaluated."""

    exit_code = EXIT_UNEVALUATED
