"""``python -m verifier``: same as the ``verifier`` console script."""

from verifier.adapters.cli import main

if __name__ == "__main__":
    main()
