"""Shared test fixtures: paths to vendored assets."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
ASSETS = TESTS / "assets"
UPSTREAM = ASSETS / "upstream"

assert ASSETS.is_dir(), f"test assets missing: {ASSETS}"


@pytest.fixture
def asset() -> object:
    """``asset("sarif-severity", "x.json")`` -> path under tests/assets, asserting it exists."""

    def _asset(*parts: str) -> Path:
        path = ASSETS.joinpath(*parts)
        assert path.exists(), f"missing test asset {path}"
        return path

    return _asset
