"""--update FILE:PATH=VALUE: a ruamel round trip that keeps comments/format, and refuses tags for digests."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.errors import ConfigError, InputError
from verifier.records.gitops_update import apply_update, parse_update, render_update

DIGEST = "sha256:" + "ab" * 32
VALUES = """\
# Production values for the api chart.  Managed by the release gate.
replicaCount: 3   # keep in sync with the HPA min

image:
  repository: 123456789.dkr.ecr.us-east-1.amazonaws.com/my-org/api
  # The digest the gate verified; never a tag.
  digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000"
  tag: 'v1.2.3'
  pullPolicy: IfNotPresent

env:
  - name: LOG_LEVEL
    value: info
"""


def test_digest_update_changes_only_that_value(tmp_path: Path) -> None:
    f = tmp_path / "values-production.yaml"
    f.write_text(VALUES)
    new = apply_update(parse_update(f"{f}:.image.digest={DIGEST}"))
    assert f.read_text() == new
    expected = VALUES.replace('"sha256:' + "0" * 64 + '"', f'"{DIGEST}"')
    assert new == expected  # comments, spacing, quote styles and order all kept


def test_single_quoted_value_stays_single_quoted() -> None:
    update = parse_update("v.yaml:image.tag=v1.2.4")
    assert "  tag: 'v1.2.4'\n" in render_update(VALUES, update)


def test_list_index_and_new_key() -> None:
    out = render_update(VALUES, parse_update("v.yaml:.env[0].value=debug"))
    assert "    value: debug\n" in out
    out = render_update(VALUES, parse_update("v.yaml:.image.registry=ghcr.io"))
    assert "  registry: ghcr.io\n" in out and "# The digest the gate verified" in out


@pytest.mark.parametrize(
    "value", ["v1.2.4", "latest", "sha256:abc", "SHA256:" + "ab" * 32, "sha256:" + "AB" * 32]
)
def test_tag_refused_where_digest_required(value: str) -> None:
    with pytest.raises(ConfigError, match="a tag is refused where a digest is required"):
        parse_update(f"values.yaml:.image.digest={value}")


@pytest.mark.parametrize(
    "spec",
    [
        "values.yaml",
        "values.yaml:.image.digest",
        ":.a=b",
        "values.yaml:=b",
        "values.yaml:.a..b=c",
        "values.yaml:.a.=c",
    ],
)
def test_malformed_spec(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse_update(spec)


def test_missing_intermediate_key_and_non_mapping() -> None:
    with pytest.raises(InputError, match=r"\.helm: no such key"):
        render_update(VALUES, parse_update("v.yaml:.helm.image.digest=" + DIGEST))
    with pytest.raises(InputError, match=r"\.replicaCount is not a mapping"):
        render_update(VALUES, parse_update("v.yaml:.replicaCount.x=1"))
    with pytest.raises(InputError, match="no such list item"):
        render_update(VALUES, parse_update("v.yaml:.env[5].value=x"))


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not valid YAML"):
        render_update("a: [1,\n", parse_update("v.yaml:.a=1"))
    with pytest.raises(InputError, match="nope.yaml"):
        apply_update(parse_update(f"{tmp_path}/nope.yaml:.a=1"))
