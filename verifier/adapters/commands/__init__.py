"""One module per CLI command, imported lazily by :mod:`verifier.adapters.cli`."""
