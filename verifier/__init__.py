"""verifier: decides whether a release may be admitted to production.

Usage from Python::

    from verifier.evaluate import evaluate_results
    from verifier.checks import sarif_severity

The command line (``verifier --help``) is the main interface; see README.md.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
