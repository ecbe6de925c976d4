"""Variable values from ``.tfvars`` files next to a root module, as ``terraform plan`` takes them.

Terraform itself loads ``terraform.tfvars``, ``terraform.tfvars.json`` and every ``*.auto.tfvars(.json)`` in
lexical order (the precedence is proven against real Terraform in test_trust_terraform_plans.py, case
``tfvars-precedence``); any other ``*.tfvars`` is what a ``-var-file`` may pass, so each value it sets is
one more rendering. Before, a safe variable default decided even when a ``terraform.tfvars`` beside it set
``repo:*``: a false allow.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.checks.oidc_trust import check_all
from verifier.errors import InputError
from verifier.sources.trust_policy_files import load_configs

SAFE = "repo:acme/app:ref:refs/heads/main"
MAIN_TF = """\
variable "subject" {
  type    = string
  default = "%s"
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = ["arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "token.actions.githubusercontent.com:sub"
      values   = [var.subject]
    }
  }
}

resource "aws_iam_role" "deploy" {
  name               = "deploy"
  assume_role_policy = data.aws_iam_policy_document.trust.json
}
"""


def _module(tmp_path: Path, files: dict[str, str], default: str = SAFE) -> Path:
    (tmp_path / "main.tf").write_text(MAIN_TF % default)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def _verdict(path: Path) -> str:
    configs = load_configs([str(path)])
    [result] = check_all(configs)
    return result.verdict


def test_no_tfvars_the_default_decides(tmp_path: Path) -> None:
    assert _verdict(_module(tmp_path, {})) == "pass"


@pytest.mark.parametrize(
    "files",
    [
        {"terraform.tfvars": 'subject = "repo:*"\n'},
        {"terraform.tfvars.json": '{"subject": "repo:*"}'},
        {"x.auto.tfvars": 'subject = "repo:*"\n'},
        {
            "terraform.tfvars": f'subject = "{SAFE}"\n',
            "z.auto.tfvars.json": '{"subject": "repo:*"}',
        },
        {"a.auto.tfvars": f'subject = "{SAFE}"\n', "b.auto.tfvars": 'subject = "repo:*"\n'},
    ],
)
def test_tfvars_terraform_loads_by_itself_replace_the_default(
    tmp_path: Path, files: dict[str, str]
) -> None:
    module = _module(tmp_path, files)
    assert _verdict(module) == "fail"
    # Named or walked, the same answer.
    assert _verdict(module / "main.tf") == "fail"


def test_a_later_auto_file_replaces_an_earlier_one(tmp_path: Path) -> None:
    files = {"terraform.tfvars": 'subject = "repo:*"\n', "a.auto.tfvars": f'subject = "{SAFE}"\n'}
    assert _verdict(_module(tmp_path, files, default="repo:*")) == "pass"


def test_each_var_file_is_one_more_rendering_and_the_worst_decides(tmp_path: Path) -> None:
    module = _module(tmp_path, {"prod.tfvars": f'subject = "{SAFE}"\n'})
    assert _verdict(module) == "pass"
    (tmp_path / "dev.tfvars").write_text('subject = "repo:*"\n')
    assert _verdict(module) == "fail"
    assert _verdict(module / "main.tf") == "fail"


def test_a_var_file_without_a_default_still_renders(tmp_path: Path) -> None:
    """A variable without default is a template; a -var-file that sets it gives it a value to judge."""
    text = MAIN_TF.replace('  default = "%s"\n', "")
    (tmp_path / "main.tf").write_text(text)
    (tmp_path / "ci.tfvars").write_text('subject = "repo:*"\n')
    assert _verdict(tmp_path) == "fail"


def test_a_child_modules_tfvars_are_not_terraforms(tmp_path: Path) -> None:
    """Terraform reads .tfvars only in the directory it runs in: a called module's own file is ignored."""
    child = tmp_path / "modules" / "oidc"
    child.mkdir(parents=True)
    _module(child, {"terraform.tfvars": 'subject = "repo:*"\n'})
    (tmp_path / "main.tf").write_text(
        f'module "ci" {{\n  source  = "./modules/oidc"\n  subject = "{SAFE}"\n}}\n'
    )
    configs = load_configs([str(tmp_path)])
    assert {c.name: r.verdict for c, r in zip(configs, check_all(configs), strict=True)} == {
        "module.ci.aws_iam_role.deploy": "pass"
    }


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("terraform.tfvars", 'subject = "repo:*\n', ""),
        ("terraform.tfvars.json", "[1, 2]", "must set variables"),
        ("x.auto.tfvars.json", "{", ""),
    ],
)
def test_a_malformed_tfvars_file_is_an_error_naming_it(
    tmp_path: Path, name: str, text: str, problem: str
) -> None:
    module = _module(tmp_path, {name: text})
    with pytest.raises(InputError) as info:
        load_configs([str(module)])
    assert info.value.path == str(tmp_path / name) and problem in info.value.problem


@pytest.mark.parametrize(("subject", "expected"), [("repo:*", "fail"), (SAFE, "pass")])
def test_terragrunt_inputs_are_one_more_rendering(
    tmp_path: Path, subject: str, expected: str
) -> None:
    """Terragrunt passes ``inputs`` as TF_VAR_ variables to the module next to its terragrunt.hcl."""
    module = _module(tmp_path, {"terragrunt.hcl": f'inputs = {{\n  subject = "{subject}"\n}}\n'})
    assert _verdict(module) == expected
    assert _verdict(module / "main.tf") == expected


def test_a_malformed_terragrunt_file_is_an_error_naming_it(tmp_path: Path) -> None:
    module = _module(tmp_path, {"terragrunt.hcl": "inputs = {\n"})
    with pytest.raises(InputError) as info:
        load_configs([str(module)])
    assert info.value.path == str(tmp_path / "terragrunt.hcl")
