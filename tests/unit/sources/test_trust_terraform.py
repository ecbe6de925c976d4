"""Terraform trust configurations rendered as Terraform will render them (issue 15, class 2).

Each test writes a small module, reads it through the real reader and judges it with the real check. The
comment on each says what the old reader did with the same text (the false allow it reproduces).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verifier.checks.oidc_trust import check, check_all
from verifier.errors import InputError
from verifier.sources.trust_policy_files import load_configs

PROVIDER = """
resource "aws_iam_openid_connect_provider" "gh" {
  url = "https://token.actions.githubusercontent.com"
}
"""


def document(condition: str, extra: str = "") -> str:
    return f"""
data "aws_iam_policy_document" "trust" {{
  statement {{
    sid     = "GitHub"
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {{
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.gh.arn]
    }}
{condition}
  }}
{extra}
}}
resource "aws_iam_role" "deploy" {{
  assume_role_policy = data.aws_iam_policy_document.trust.json
}}
"""


def sub(values: str, test: str = "StringLike") -> str:
    return f"""    condition {{
      test     = "{test}"
      variable = "token.actions.githubusercontent.com:sub"
      values   = {values}
    }}"""


def verdicts(path: Path | str) -> dict[str, str]:
    return {
        (c.name or c.subject): r.verdict
        for c, r in zip(
            load_configs([str(path)]), check_all(load_configs([str(path)])), strict=True
        )
    }


def write(tmp: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp / name).write_text(text, encoding="utf-8")
    return tmp


def test_constant_local_is_rendered(tmp_path: Path) -> None:
    """`locals { s = "repo:*" }` was an unresolved template (indeterminate, allowed): it is `repo:*`."""
    write(
        tmp_path,
        **{
            "main.tf": PROVIDER + document(sub("[local.s]")),
            "locals.tf": 'locals {\n  s = "repo:*"\n}\n',
        },
    )
    assert verdicts(tmp_path) == {"aws_iam_role.deploy": "fail"}
    assert verdicts(tmp_path / "main.tf") == {"aws_iam_role.deploy": "fail"}


def test_variable_default_and_local_built_from_it(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{
            "main.tf": PROVIDER + document(sub("local.subjects")),
            "variables.tf": 'variable "org" {\n  default = "acme"\n}\n'
            'locals {\n  subjects = ["repo:${var.org}/*"]\n}\n',
        },
    )
    result = check(load_configs([str(tmp_path)])[0])
    assert result.verdict == "warn-org"
    assert result.facts["statements"][0]["sub"] == ["repo:acme/*"]


def test_variable_without_default_stays_a_template(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{
            "main.tf": PROVIDER + document(sub('["repo:${var.org}/app:ref:refs/heads/main"]')),
            "variables.tf": 'variable "org" {}\n',
        },
    )
    result = check(load_configs([str(tmp_path)])[0])
    assert result.verdict == "pass"  # a name slot: one owner, whichever is passed in
    assert result.facts["statements"][0]["sub"] == ["repo:${var.org}/app:ref:refs/heads/main"]


def test_conditional_over_literals(tmp_path: Path) -> None:
    """A conditional on a variable with a default takes that branch."""
    write(
        tmp_path,
        **{
            "main.tf": PROVIDER
            + document(sub('[var.strict ? "repo:acme/app:ref:refs/heads/main" : "repo:*"]')),
            "variables.tf": 'variable "strict" {\n  default = true\n}\n',
        },
    )
    assert verdicts(tmp_path) == {"aws_iam_role.deploy": "pass"}


def test_undecided_conditional_renders_both_branches(tmp_path: Path) -> None:
    """Without a default both branches are possible renderings; the worst decides."""
    write(
        tmp_path,
        **{
            "main.tf": PROVIDER
            + document(
                sub('["x"]')
                .replace(
                    'test     = "StringLike"',
                    'test     = var.strict ? "StringEquals" : "StringLike"',
                )
                .replace('["x"]', '["repo:acme/app:*"]')
            ),
            "variables.tf": 'variable "strict" {}\n',
        },
    )
    (result,) = check_all(load_configs([str(tmp_path)]))
    # StringEquals "repo:acme/app:*" can never match; StringLike admits any ref: the worst is warn-ref
    assert result.verdict == "warn-ref"
    assert sorted(r["verdict"] for r in result.facts["renderings"]) == ["broken", "warn-ref"]


def test_dynamic_statement_is_expanded(tmp_path: Path) -> None:
    """A `dynamic "statement"` was ignored: its `repo:*` statement gave `pass`."""
    extra = """
  dynamic "statement" {
    for_each = ["repo:*"]
    content {
      actions = ["sts:AssumeRoleWithWebIdentity"]
      principals {
        type        = "Federated"
        identifiers = [aws_iam_openid_connect_provider.gh.arn]
      }
      condition {
        test     = "StringLike"
        variable = "token.actions.githubusercontent.com:sub"
        values   = [statement.value]
      }
    }
  }"""
    write(
        tmp_path,
        **{"main.tf": PROVIDER + document(sub('["repo:acme/app:ref:refs/heads/main"]'), extra)},
    )
    assert verdicts(tmp_path) == {"aws_iam_role.deploy": "fail"}


def test_dynamic_condition_iterates_a_known_list(tmp_path: Path) -> None:
    condition = """    dynamic "condition" {
      for_each = var.subjects
      iterator = s
      content {
        test     = "StringLike"
        variable = "token.actions.githubusercontent.com:sub"
        values   = [s.value]
      }
    }"""
    write(
        tmp_path,
        **{
            "main.tf": PROVIDER + document(condition),
            "variables.tf": 'variable "subjects" {\n  default = ["repo:acme/app:ref:refs/heads/main"]\n}\n',
        },
    )
    assert verdicts(tmp_path) == {"aws_iam_role.deploy": "pass"}


def test_source_document_statement_replaced_by_sid(tmp_path: Path) -> None:
    """A source document's statement with the same sid is replaced by the document's own."""
    base = """
data "aws_iam_policy_document" "base" {
  statement {
    sid     = "GitHub"
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.gh.arn]
    }
    condition {
      test     = "StringLike"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:*"]
    }
  }
}
"""
    extra = "  source_policy_documents = [data.aws_iam_policy_document.base.json]"
    write(
        tmp_path,
        **{
            "main.tf": PROVIDER
            + document(sub('["repo:acme/app:ref:refs/heads/main"]'), extra)
            + base
        },
    )
    assert verdicts(tmp_path / "main.tf")["aws_iam_role.deploy"] == "pass"
    # without the same sid the source statement stays and decides
    (tmp_path / "main.tf").write_text(
        PROVIDER
        + document(sub('["repo:acme/app:ref:refs/heads/main"]'), extra).replace(
            'sid     = "GitHub"', 'sid     = "Pinned"'
        )
        + base,
        encoding="utf-8",
    )
    assert verdicts(tmp_path / "main.tf")["aws_iam_role.deploy"] == "fail"


def test_override_document_replaces_by_sid(tmp_path: Path) -> None:
    """`override_policy_documents` were ignored: an override that opens the role to `repo:*` passed."""
    override = """
data "aws_iam_policy_document" "open" {
  statement {
    sid     = "GitHub"
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.gh.arn]
    }
    condition {
      test     = "StringLike"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:*"]
    }
  }
}
"""
    extra = "  override_policy_documents = [data.aws_iam_policy_document.open.json]"
    write(
        tmp_path,
        **{
            "main.tf": PROVIDER + document(sub('["repo:acme/app:ref:refs/heads/main"]'), extra),
            "open.tf": override,
        },
    )
    result = check(
        next(c for c in load_configs([str(tmp_path)]) if c.name == "aws_iam_role.deploy")
    )
    assert result.verdict == "fail"
    assert len(result.facts["statements"]) == 1  # replaced, not appended


def test_gcp_binding_in_a_sibling_file(tmp_path: Path) -> None:
    """A whole-pool binding in iam.tf was not read (pass); in one file the same text gave warn-org."""
    provider = """
resource "google_iam_workload_identity_pool" "pool" {
  workload_identity_pool_id = "github"
}
resource "google_iam_workload_identity_pool_provider" "gh" {
  workload_identity_pool_id          = google_iam_workload_identity_pool.pool.workload_identity_pool_id
  workload_identity_pool_provider_id = "gh"
  attribute_mapping = {
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
  }
  attribute_condition = "assertion.repository_owner_id == '42'"
  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}
"""
    binding = """
resource "google_service_account_iam_member" "all" {
  service_account_id = "projects/p/serviceAccounts/sa@p.iam.gserviceaccount.com"
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.pool.name}/*"
}
"""
    split = tmp_path / "split"
    split.mkdir()
    write(split, **{"main.tf": provider, "iam.tf": binding})
    one = tmp_path / "one"
    one.mkdir()
    write(one, **{"main.tf": provider + binding})
    expected = {"google_iam_workload_identity_pool_provider.gh": "warn-org"}
    assert verdicts(split / "main.tf") == expected
    assert verdicts(split) == expected
    assert verdicts(one) == expected


def test_statement_attribute_terraform_rejects(tmp_path: Path) -> None:
    """`action = [...]` (the block has `actions`) made the statement vanish and the file pass."""
    text = PROVIDER + document(sub('["repo:acme/app:ref:refs/heads/main"]')).replace(
        'actions = ["sts:', 'action = ["sts:'
    )
    write(tmp_path, **{"main.tf": text})
    with pytest.raises(InputError) as info:
        check_all(load_configs([str(tmp_path / "main.tf")]))
    assert "'action' (Terraform: 'actions')" in info.value.problem
    assert info.value.path == str(tmp_path / "main.tf")
    # next to a good configuration in the same file: an error verdict for it, the other is judged
    (tmp_path / "main.tf").write_text(
        text
        + """
resource "azuread_application_federated_identity_credential" "ok" {
  issuer   = "https://token.actions.githubusercontent.com"
  subject  = "repo:acme/app:environment:prod"
  audiences = ["api://AzureADTokenExchange"]
}
""",
        encoding="utf-8",
    )
    assert verdicts(tmp_path / "main.tf") == {
        "aws_iam_role.deploy": "error",
        "azuread_application_federated_identity_credential.ok": "pass",
    }


def test_cloudformation_action_star_is_read_in_a_directory(tmp_path: Path) -> None:
    """A role whose trust statement says `Action: "*"` was dropped by a directory walk (pass) but failed
    when named: AssumeRolePolicyDocument is a trust policy whatever its action."""
    template = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {
                                    "Federated": "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"
                                },
                                "Action": "*",
                            }
                        ]
                    },
                    "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"],
                },
            }
        }
    }
    (tmp_path / "role.json").write_text(json.dumps(template), encoding="utf-8")
    named = {c.subject: check(c).verdict for c in load_configs([str(tmp_path / "role.json")])}
    walked = {c.subject: check(c).verdict for c in load_configs([str(tmp_path)])}
    assert named == walked == {str(tmp_path / "role.json"): "fail"}


def test_deep_expression_is_an_input_error(tmp_path: Path) -> None:
    deep = "(" * 300 + '"repo:*"' + ")" * 300
    write(tmp_path, **{"main.tf": PROVIDER + document(sub(f"[{deep}]"))})
    with pytest.raises(InputError) as info:
        check_all(load_configs([str(tmp_path)]))
    assert info.value.path == str(tmp_path / "main.tf")


def test_function_the_evaluator_does_not_know_is_unsupported(tmp_path: Path) -> None:
    """A Terraform function outside the evaluator's set is not a deploy-time template: it is not
    understood, and the verdict says so (denied by default)."""
    write(
        tmp_path,
        **{"main.tf": PROVIDER + document(sub('[regex("repo:[a-z]+/.*", var.s)]'))},
    )
    (result,) = check_all(load_configs([str(tmp_path)]))
    assert result.verdict == "unsupported"
    assert any(f.rule == "unsupported-construct" for f in result.findings)


def test_same_module_in_one_file_or_split_gives_the_same_verdicts(tmp_path: Path) -> None:
    """Metamorphic: splitting a module into files never changes a verdict."""
    parts = {
        "main.tf": PROVIDER + document(sub("local.subjects")),
        "locals.tf": 'locals {\n  subjects = ["repo:${var.org}/app:*"]\n}\n',
        "variables.tf": 'variable "org" {\n  default = "acme"\n}\n',
    }
    split = tmp_path / "split"
    split.mkdir()
    write(split, **parts)
    one = tmp_path / "one"
    one.mkdir()
    write(one, **{"main.tf": "".join(parts.values())})
    assert (
        verdicts(split)
        == verdicts(one)
        == verdicts(split / "main.tf")
        == {"aws_iam_role.deploy": "warn-ref"}
    )


def test_escaped_interpolation_stays_literal(tmp_path: Path) -> None:
    """`$${...}` is a literal `${...}` (an IAM policy variable), never an expression to evaluate."""
    write(
        tmp_path,
        **{
            "main.tf": PROVIDER + document(sub('["repo:acme/$${var.org}:ref:refs/heads/main"]')),
            "variables.tf": 'variable "org" {\n  default = "*"\n}\n',
        },
    )
    result = check(load_configs([str(tmp_path)])[0])
    assert result.facts["statements"][0]["sub"] == ["repo:acme/${var.org}:ref:refs/heads/main"]


def test_for_each_over_a_known_collection_renders_every_instance(tmp_path: Path) -> None:
    """`for_each` over a variable with a default: `each.value` was a template in a name slot
    (indeterminate, allowed) although the default decides it."""
    text = PROVIDER + document(sub('["repo:${each.value}:ref:refs/heads/main"]')).replace(
        'data "aws_iam_policy_document" "trust" {',
        'data "aws_iam_policy_document" "trust" {\n  for_each = toset(var.repos)',
    ).replace(
        "assume_role_policy = data.aws_iam_policy_document.trust.json",
        "for_each = toset(var.repos)\n  assume_role_policy = data.aws_iam_policy_document.trust[each.key].json",
    )
    write(
        tmp_path,
        **{
            "main.tf": text,
            "variables.tf": 'variable "repos" {\n  default = ["acme/app", "acme/*"]\n}\n',
        },
    )
    # each role instance takes the document instance its each.key names
    assert verdicts(tmp_path) == {
        'aws_iam_role.deploy["acme/*"]': "warn-org",
        'aws_iam_role.deploy["acme/app"]': "pass",
    }
    # named on its own, each instance of the document is judged as itself
    (tmp_path / "main.tf").write_text(text.split('resource "aws_iam_role"')[0], encoding="utf-8")
    assert verdicts(tmp_path / "main.tf") == {
        'data.aws_iam_policy_document.trust["acme/*"]': "warn-org",
        'data.aws_iam_policy_document.trust["acme/app"]': "pass",
    }
