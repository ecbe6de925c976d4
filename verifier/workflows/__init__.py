"""GitHub Actions workflow files as YAML nodes with their positions."""
