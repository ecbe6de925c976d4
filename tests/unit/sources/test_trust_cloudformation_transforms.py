"""CloudFormation templates that the deployment rewrites before it creates anything: ``Fn::ForEach``
(AWS::LanguageExtensions) is expanded as CloudFormation expands it; a macro Transform, which may rewrite
anything, makes every role ``unsupported`` (denied by default). Before, a role under ``Fn::ForEach`` was not
seen at all (a directory walk dropped a ``repo:*`` role silently) and a macro's input was judged as if it
were what gets deployed."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.checks.oidc_trust import check_all
from verifier.sources.trust_policy_files import load_configs

ROLE = """\
Type: AWS::IAM::Role
Properties:
  AssumeRolePolicyDocument:
    Version: "2012-10-17"
    Statement:
      - Effect: Allow
        Action: sts:AssumeRoleWithWebIdentity
        Principal:
          Federated: arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com
        Condition:
          StringEquals:
            token.actions.githubusercontent.com:aud: sts.amazonaws.com
          StringLike:
            token.actions.githubusercontent.com:sub: SUB
"""


def _indent(text: str, n: int) -> str:
    return "".join(" " * n + line + "\n" for line in text.splitlines())


def _template(resources: str, transform: str | None = None) -> str:
    head = 'AWSTemplateFormatVersion: "2010-09-09"\n'
    if transform:
        head += f"Transform: {transform}\n"
    return head + "Resources:\n" + resources


def _verdicts(path: Path) -> dict[str, str]:
    configs = load_configs([str(path)])
    return {str(c.name): r.verdict for c, r in zip(configs, check_all(configs), strict=True)}


def _check(tmp_path: Path, text: str) -> dict[str, str]:
    (tmp_path / "t.yaml").write_text(text)
    named = _verdicts(tmp_path / "t.yaml")
    assert _verdicts(tmp_path) == named  # walked or named: the same answer
    return named


def test_for_each_over_literals_is_expanded(tmp_path: Path) -> None:
    role = ROLE.replace("SUB", '!Sub "repo:acme/${Name}:ref:refs/heads/main"')
    loop = "  Fn::ForEach::Roles:\n    - Name\n    - [api, worker]\n    - Role&{Name}:\n" + _indent(
        role, 8
    )
    assert _check(tmp_path, _template(loop, "AWS::LanguageExtensions")) == {
        "Roleapi": "pass",
        "Roleworker": "pass",
    }


def test_a_wide_role_under_for_each_is_seen(tmp_path: Path) -> None:
    role = ROLE.replace("SUB", '"repo:*"')
    loop = "  Fn::ForEach::Roles:\n    - Name\n    - [A, B]\n    - Role${Name}:\n" + _indent(
        role, 8
    )
    assert _check(tmp_path, _template(loop, "AWS::LanguageExtensions")) == {
        "RoleA": "fail",
        "RoleB": "fail",
    }


def test_for_each_over_a_parameter_is_unsupported(tmp_path: Path) -> None:
    role = ROLE.replace("SUB", '"repo:acme/app:ref:refs/heads/main"')
    loop = "  Fn::ForEach::Roles:\n    - Name\n    - !Ref Names\n    - Role${Name}:\n" + _indent(
        role, 8
    )
    text = "Parameters:\n  Names:\n    Type: CommaDelimitedList\n" + _template(
        loop, "AWS::LanguageExtensions"
    )
    assert _check(tmp_path, text) == {"Fn::ForEach::Roles": "unsupported"}


@pytest.mark.parametrize(
    ("transform", "expected"),
    [
        (None, "pass"),
        ("AWS::Serverless-2016-10-31", "pass"),
        ("MyCompanyMacro", "unsupported"),
        ("[AWS::Serverless-2016-10-31, MyCompanyMacro]", "unsupported"),
    ],
)
def test_a_macro_may_rewrite_the_role(tmp_path: Path, transform: str | None, expected: str) -> None:
    role = ROLE.replace("SUB", '"repo:acme/app:ref:refs/heads/main"')
    text = _template("  Role:\n" + _indent(role, 4), transform)
    assert _check(tmp_path, text) == {"Role": expected}
