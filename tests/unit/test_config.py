"""verifier.yaml validation: unknown keys and bad values are exit-2 errors naming the key; schema in sync."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from verifier.adapters.commands.init import STARTER
from verifier.config import (
    SCHEMA_PATH,
    json_schema,
    json_schema_text,
    load_config,
    parse_config,
    resolve_image,
)
from verifier.errors import EXIT_INPUT, InputError
from verifier.models import Severity

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"


def test_committed_schema_equals_generated() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == json_schema_text()


@pytest.mark.parametrize("name", ["verifier.yaml", "verifier-deny.yaml"])
def test_demo_configs_load_and_match_the_schema(name: str) -> None:
    config = load_config(DEMO / name)
    # Relative paths are relative to the config file's directory.
    assert config.image == f"oci-layout:{DEMO / 'throwaway-key'}"
    assert config.signers is not None
    assert config.signers.key == str(DEMO / "keys" / "throwaway-cosign.pub")
    jsonschema.validate(yaml.safe_load((DEMO / name).read_text()), json_schema())


def test_starter_config_is_valid() -> None:
    config = parse_config(yaml.safe_load(STARTER), "starter")
    sarif = config.sections["sarif"]
    assert sarif.levels == (Severity.CRITICAL, Severity.HIGH)
    assert "trust_policies" not in config.sections  # commented out in the starter


def test_unknown_top_level_key_names_the_key() -> None:
    with pytest.raises(InputError) as info:
        parse_config({"image": "x", "licenses": {}}, "v.yaml")
    assert info.value.exit_code == EXIT_INPUT
    assert "unknown key 'licenses'" in str(info.value)
    assert str(info.value).startswith("v.yaml: ")


def test_unknown_nested_key_names_the_path() -> None:
    with pytest.raises(InputError, match=r"unknown key 'sarif\.fail_onn'"):
        parse_config({"sarif": {"files": ["a"], "fail_onn": ["high"]}}, "v.yaml")


@pytest.mark.parametrize(
    ("signers", "wrong", "right"),
    [
        (
            {"identity_regexp": "^x$", "issuer": "https://i"},
            "signers.identity_regexp",
            "signers.identity.identity_regexp",
        ),
        ({"issuer": "https://i"}, "signers.issuer", "signers.identity.issuer"),
        (
            {"rel": {"issuer": "https://i", "images": ["a/*"]}},
            "signers.rel.issuer",
            "signers.rel.identity.issuer",
        ),
    ],
)
def test_keyless_keys_one_level_too_high_say_where_they_go(
    signers: dict[str, object], wrong: str, right: str
) -> None:
    """A flat keyless signer is one set with a misplaced key, not a map of sets named 'issuer'."""
    with pytest.raises(InputError) as info:
        parse_config({"signers": signers}, "v.yaml")
    assert f"unknown key '{wrong}' (a keyless signer's keys go under identity: {right})" in str(
        info.value
    )
    assert "should be a dictionary" not in str(info.value)


def test_named_signer_sets_still_load() -> None:
    config = parse_config(
        {
            "signers": {
                "rel": {"identity": {"identity": "a", "issuer": "https://i"}, "images": ["a/*"]}
            }
        },
        "v.yaml",
    )
    assert set(config.sections["signers"]) == {"rel"}


def test_bad_severity_rejected_and_fail_on_is_a_threshold() -> None:
    with pytest.raises(
        InputError,
        match=r"sarif: fail_on: expected critical, high, medium, low or unknown; got severe",
    ):
        parse_config({"sarif": {"files": ["a"], "fail_on": ["severe"]}}, "v.yaml")
    with pytest.raises(InputError, match=r"leaves out the more severe high, critical"):
        parse_config({"sarif": {"files": ["a"], "fail_on": ["low", "medium"]}}, "v.yaml")
    config = parse_config({"sarif": {"files": ["a"], "fail_on": "medium"}}, "v.yaml")
    assert config.sections["sarif"].levels == (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM)
    with pytest.raises(InputError, match=r"sarif\.files: Input should be a valid tuple"):
        parse_config({"sarif": {"files": "a.sarif"}}, "v.yaml")


def test_signer_needs_identity_or_key_and_one_identity_form() -> None:
    with pytest.raises(InputError, match="name a signer"):
        parse_config({"signers": {}}, "v.yaml")
    with pytest.raises(InputError, match="exactly one of identity / identity_regexp"):
        parse_config(
            {"signers": {"identity": {"identity": "a", "identity_regexp": "b", "issuer": "i"}}},
            "v.yaml",
        )
    ok = parse_config(
        {
            "signers": {
                "identity": {
                    "identity_regexp": "^https://github.com/o/r/.*$",
                    "issuer": "https://token.actions.githubusercontent.com",
                }
            }
        },
        "v",
    )
    assert ok.signers is not None and ok.signers.identity is not None


def test_opa_engine_needs_url() -> None:
    with pytest.raises(InputError, match="opa_url"):
        parse_config({"policy": {"engine": "opa"}}, "v.yaml")


def test_pin_mode_validated() -> None:
    with pytest.raises(InputError, match=r"workflows\.policy"):
        parse_config({"workflows": {"paths": ["."], "policy": {"*": "pin-it"}}}, "v.yaml")


def test_top_level_must_be_mapping_and_yaml_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "v.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(InputError, match="top level is list"):
        load_config(bad)
    bad.write_text("image: [unclosed\n")
    with pytest.raises(InputError, match=r"v\.yaml: not valid YAML at line"):
        load_config(bad)
    with pytest.raises(InputError, match="missing.yaml"):
        load_config(tmp_path / "missing.yaml")


def test_empty_file_is_a_config_without_checks(tmp_path: Path) -> None:
    empty = tmp_path / "v.yaml"
    empty.write_text("# nothing yet\n")
    config = load_config(empty)
    assert config.sections == {} and config.image is None


def test_oci_layout_resolved_relative_to_config_dir() -> None:
    assert (
        resolve_image(Path("fixtures/demo"), "oci-layout:throwaway-key")
        == "oci-layout:fixtures/demo/throwaway-key"
    )
    assert (
        resolve_image(Path("x"), "ghcr.io/o/r@sha256:" + "a" * 64)
        == "ghcr.io/o/r@sha256:" + "a" * 64
    )


def test_schema_rejects_unknown_key_like_the_model() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"sarif": {"files": ["a"]}, "bogus": 1}, json_schema())
    assert json.loads(json_schema_text())["additionalProperties"] is False
