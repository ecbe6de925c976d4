"""The checks: pure functions from collected evidence to a :class:`~verifier.models.CheckResult`."""
