"""CloudFormation trust policies rendered as a stack deployment renders them (issue 15, class 2).

Each template is written as YAML with short tags, read by the real reader and judged by the real check.
The docstrings say what the old reader did with the same template (the false allow reproduced).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.checks.oidc_trust import check
from verifier.errors import InputError
from verifier.sources.trust_policy_files import load_configs

ROLE = """
Resources:
  Provider:
    Type: AWS::IAM::OIDCProvider
    Properties:
      Url: https://token.actions.githubusercontent.com
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Action: sts:AssumeRoleWithWebIdentity
            Principal:
              Federated: !Ref Provider
            Condition:
              StringEquals:
                token.actions.githubusercontent.com:aud: sts.amazonaws.com
              StringLike:
                token.actions.githubusercontent.com:sub: SUB
"""


def verdict(tmp_path: Path, head: str, sub: str) -> tuple[str, dict[str, object]]:
    path = tmp_path / "stack.yaml"
    path.write_text(head + ROLE.replace("SUB", sub), encoding="utf-8")
    (config,) = load_configs([str(path)])
    result = check(config)
    return result.verdict, result.facts


def test_find_in_map(tmp_path: Path) -> None:
    """`Fn::FindInMap` was an unresolved template (indeterminate, allowed)."""
    head = """
Mappings:
  Repos:
    prod:
      Subject: "repo:*"
"""
    assert verdict(tmp_path, head, "!FindInMap [Repos, prod, Subject]")[0] == "fail"


def test_select_over_split(tmp_path: Path) -> None:
    head = ""
    sub = '!Select [1, !Split [",", "repo:acme/app:ref:refs/heads/main,repo:acme/*"]]'
    assert verdict(tmp_path, head, sub)[0] == "warn-org"


def test_if_on_a_condition_over_a_default(tmp_path: Path) -> None:
    head = """
Parameters:
  Env:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Env, prod]
"""
    sub = '!If [IsProd, "repo:acme/app:environment:prod", "repo:acme/*"]'
    assert verdict(tmp_path, head, sub)[0] == "warn-org"


def test_if_on_an_open_parameter_renders_both_branches(tmp_path: Path) -> None:
    head = """
Parameters:
  Env:
    Type: String
Conditions:
  IsProd: !Equals [!Ref Env, prod]
"""
    sub = '!If [IsProd, "repo:acme/app:environment:prod", "repo:*"]'
    result, facts = verdict(tmp_path, head, sub)
    assert result == "fail"
    assert sorted(r["verdict"] for r in facts["renderings"]) == ["fail", "pass"]  # type: ignore[union-attr]


def test_allowed_values_with_a_star_are_each_rendered(tmp_path: Path) -> None:
    """A parameter whose AllowedValues contain `*` was trusted as a literal name (pass)."""
    head = """
Parameters:
  Repo:
    Type: String
    AllowedValues: [app, "*"]
"""
    result, facts = verdict(tmp_path, head, "!Sub repo:acme/${Repo}:ref:refs/heads/main")
    assert result == "warn-org"
    assert {r["values"]: r["verdict"] for r in facts["renderings"]} == {  # type: ignore[union-attr]
        "Repo='app'": "pass",
        "Repo='*'": "warn-org",
    }


def test_no_value_removes_the_condition(tmp_path: Path) -> None:
    head = """
Parameters:
  Strict:
    Type: String
    AllowedValues: ["true", "false"]
Conditions:
  IsStrict: !Equals [!Ref Strict, "true"]
"""
    sub = '!If [IsStrict, "repo:acme/app:ref:refs/heads/main", !Ref AWS::NoValue]'
    result, facts = verdict(tmp_path, head, sub)
    # Strict=false removes the sub condition: only aud is left
    assert result == "fail"
    assert {r["values"]: r["verdict"] for r in facts["renderings"]} == {  # type: ignore[union-attr]
        "Strict='true'": "pass",
        "Strict='false'": "fail",
    }


def test_intrinsic_not_evaluated_is_unsupported(tmp_path: Path) -> None:
    assert verdict(tmp_path, "", '!Base64 "repo:acme/app:ref:refs/heads/main"')[0] == "unsupported"


@pytest.mark.parametrize(
    ("head", "sub", "problem"),
    [
        ("", "!FindInMap [Nope, a, b]", "is not in Mappings"),
        ("", '!If [Missing, "a", "b"]', "condition 'Missing' is not defined"),
        ("", '!Select [5, ["a"]]', "out of range"),
    ],
)
def test_malformed_intrinsics_are_input_errors(
    tmp_path: Path, head: str, sub: str, problem: str
) -> None:
    with pytest.raises(InputError) as info:
        verdict(tmp_path, head, sub)
    assert problem in info.value.problem
    assert info.value.path == str(tmp_path / "stack.yaml")
