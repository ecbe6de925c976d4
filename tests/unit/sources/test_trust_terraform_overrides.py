"""Terraform override files (``override.tf``, ``*_override.tf``, ``.tf.json`` too): Terraform merges their
blocks into the blocks of the same address elsewhere in the module, so the role it deploys has the
override's trust policy. Before, naming ``main.tf`` judged the base policy alone (a pass while Terraform
deploys ``repo:*``), and a walk judged the override block as a role of its own. The merge is proven against
real Terraform in test_trust_terraform_plans.py (case ``override``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.sources.test_trust_terraform_tfvars import MAIN_TF, SAFE
from verifier.checks.oidc_trust import check_all
from verifier.errors import InputError
from verifier.sources.trust_policy_files import is_override_file, load_configs

WIDE_ROLE = """\
resource "aws_iam_role" "deploy" {
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = { Federated = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com" }
      Condition = {
        StringEquals = { "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com" }
        StringLike   = { "token.actions.githubusercontent.com:sub" = "%s" }
      }
    }]
  })
}
"""


def _verdicts(path: Path) -> dict[str, str]:
    configs = load_configs([str(path)])
    return {
        f"{Path(c.subject.split('#')[0]).name}#{c.name}": r.verdict
        for c, r in zip(configs, check_all(configs), strict=True)
        if c.name and c.name.startswith("aws_iam_role")
    }


@pytest.mark.parametrize("name", ["override.tf", "main_override.tf", "zz_override.tf.json"])
def test_the_override_decides_named_walked_or_the_override_named(tmp_path: Path, name: str) -> None:
    (tmp_path / "main.tf").write_text(MAIN_TF % SAFE)
    if name.endswith(".json"):
        (tmp_path / name).write_text(
            '{"resource": {"aws_iam_role": {"deploy": {"assume_role_policy": "{\\"Statement\\": '
            '[{\\"Effect\\": \\"Allow\\", \\"Action\\": \\"sts:AssumeRoleWithWebIdentity\\", '
            '\\"Principal\\": {\\"Federated\\": \\"arn:aws:iam::1:oidc-provider/token.actions.'
            'githubusercontent.com\\"}, \\"Condition\\": {\\"StringEquals\\": {\\"token.actions.'
            'githubusercontent.com:aud\\": \\"sts.amazonaws.com\\"}, \\"StringLike\\": {\\"token.'
            'actions.githubusercontent.com:sub\\": \\"repo:*\\"}}}]}"}}}}'
        )
    else:
        (tmp_path / name).write_text(WIDE_ROLE % "repo:*")
    expected = {"main.tf#aws_iam_role.deploy": "fail"}
    assert _verdicts(tmp_path) == expected
    assert _verdicts(tmp_path / "main.tf") == expected
    assert _verdicts(tmp_path / name) == expected


def test_an_override_that_pins_the_role_is_no_false_deny(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(MAIN_TF % "repo:*")
    assert _verdicts(tmp_path) == {"main.tf#aws_iam_role.deploy": "fail"}
    (tmp_path / "main_override.tf").write_text(WIDE_ROLE % SAFE)
    assert _verdicts(tmp_path) == {"main.tf#aws_iam_role.deploy": "pass"}


def test_an_overridden_variable_default(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(MAIN_TF % SAFE)
    (tmp_path / "override.tf").write_text('variable "subject" {\n  default = "repo:*"\n}\n')
    assert _verdicts(tmp_path) == {"main.tf#aws_iam_role.deploy": "fail"}
    assert _verdicts(tmp_path / "main.tf") == {"main.tf#aws_iam_role.deploy": "fail"}


def test_an_override_of_nothing_is_an_error_as_in_terraform(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(MAIN_TF % SAFE)
    (tmp_path / "other_override.tf").write_text(WIDE_ROLE.replace('"deploy"', '"ghost"') % "repo:*")
    with pytest.raises(InputError) as info:
        load_configs([str(tmp_path)])
    assert info.value.path.endswith("other_override.tf")
    assert "overrides aws_iam_role.ghost, which no other file of the module defines" in str(
        info.value
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("override.tf", True),
        ("main_override.tf", True),
        ("x_override.tf.json", True),
        ("overrides.tf", False),
        ("myoverride.tf", False),
        ("override.tf.bak", False),
    ],
)
def test_which_files_are_override_files(name: str, expected: bool) -> None:
    assert is_override_file(f"/m/{name}") is expected
