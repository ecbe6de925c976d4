"""The image tests use the integration suite's real registry (Debian docker-registry on 127.0.0.1)."""

from tests.integration.conftest import registry  # noqa: F401  (the fixture, re-exported for this folder)
