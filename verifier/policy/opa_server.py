"""Decide on a remote OPA server through opa-python-client.

The server must have the bundle loaded (package ``verifier``): either deployed with it, or uploaded by
:meth:`OpaServerEngine.upload_bundle`, which always passes ``rego_compat=False`` so the client never rewrites
policies into another dialect behind our back (a rejected policy is an error, not silently "upgraded").
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from verifier.errors import NetworkError, PolicyError
from verifier.models import Decision
from verifier.policy.engine import PolicyEngine, decision_from_sets, policy_files


class OpaServerEngine(PolicyEngine):
    """Evaluate ``data.verifier`` on an OPA server (``http(s)://host:port``)."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PolicyError(f"--opa-url must be http(s)://host[:port], got {url!r}")
        self.url = url
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl = parts.scheme == "https"
        self._timeout = timeout

    def evaluate(self, input_doc: Mapping[str, Any]) -> Decision:
        """POST the input to ``/v1/data/verifier`` and read ``deny``/``warn`` from the result."""
        from opa_client import create_opa_client

        try:
            client = create_opa_client(
                host=self._host, port=self._port, ssl=self._ssl, timeout=self._timeout, retries=0
            )
            try:
                answer = client.query_rule(input_data=dict(input_doc), package_path="verifier")
            finally:
                client.close_connection()
        except OSError as exc:  # requests' connection errors and timeouts are OSErrors
            raise NetworkError(f"OPA server {self.url} unreachable: {exc}") from exc
        except Exception as exc:  # the client raises its own unrelated exception types
            raise PolicyError(f"OPA server {self.url}: {exc}") from exc
        result = answer.get("result") if isinstance(answer, dict) else None
        if not isinstance(result, dict):
            raise PolicyError(
                f"OPA server {self.url}: package 'verifier' is not loaded (no result)"
            )
        return decision_from_sets(result.get("deny"), result.get("warn"))

    def upload_bundle(self, policy_dir: Path) -> None:
        """Upload every policy file of ``policy_dir`` (ids ``verifier/<relative path>``)."""
        from opa_client import create_opa_client

        client = create_opa_client(
            host=self._host, port=self._port, ssl=self._ssl, timeout=self._timeout, retries=0
        )
        try:
            for path in policy_files(policy_dir):
                endpoint = "verifier/" + path.relative_to(policy_dir).as_posix()
                ok = client.update_policy_from_string(
                    path.read_text(encoding="utf-8"), endpoint, rego_compat=False
                )
                if not ok:
                    raise PolicyError(f"{path}: OPA server {self.url} rejected the policy")
        except OSError as exc:
            raise NetworkError(f"OPA server {self.url} unreachable: {exc}") from exc
        except PolicyError:
            raise
        except Exception as exc:  # RegoParseError and the client's other types
            raise PolicyError(f"OPA server {self.url} rejected the bundle: {exc}") from exc
        finally:
            client.close_connection()
