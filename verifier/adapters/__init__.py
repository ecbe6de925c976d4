"""Adapters: the CLI, the GitHub Actions gate and the webhook; they read arguments and print, nothing more."""
