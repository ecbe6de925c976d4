"""Reading trust configurations (verifier.sources.trust_policy_files) and what the check makes of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verifier.checks.oidc_trust import check
from verifier.errors import InputError
from verifier.models import Severity
from verifier.sources.files import MIB
from verifier.sources.trust_policy_files import load_configs

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "oidc-trust"
INPUTS = ASSETS / "inputs"
BAD = ASSETS / "bad"


def verdicts(path: Path | str) -> dict[str, str]:
    return {c.subject: check(c).verdict for c in load_configs([str(path)])}


def test_cloudformation_yaml_short_tags_parameter_defaults_and_admin() -> None:
    path = INPUTS / "cfn-roles.yaml"
    configs = {c.name: c for c in load_configs([str(path)])}
    assert set(configs) == {"DeployRole", "ReadRole"}
    deploy = check(configs["DeployRole"])
    # RepositoryName defaults to '*': repo:acme/*:* admits every repository of acme
    assert deploy.verdict == "warn-org"
    assert deploy.subject == f"{path}#DeployRole"
    assert configs["DeployRole"].admin_permissions == ("AdministratorAccess",)
    admin = next(f for f in deploy.findings if f.rule == "role-admin-permissions")
    assert admin.severity == Severity.CRITICAL and "amplifies the other findings" in admin.message
    assert any("parameter default" in f.message for f in deploy.findings)
    # the rendered !Sub value is not in the file: the finding points at its condition key's line
    wildcard = next(f for f in deploy.findings if f.rule == "sub-wildcard-repo")
    assert wildcard.location is not None and wildcard.location.line == 32
    assert admin.location is not None and admin.location.line == 21
    # !Join of literals and !GetAtt principal: exact environment subject
    assert check(configs["ReadRole"]).verdict == "pass"


def test_terraform_hcl_every_shape() -> None:
    found = verdicts(ASSETS / "terraform")
    base = str(ASSETS / "terraform" / "main.tf")
    assert found == {
        f"{base}#aws_iam_role.deploy": "pass",  # data.aws_iam_policy_document.deploy.json
        f"{base}#aws_iam_role.inline": "warn-org",  # jsonencode({...}) with repo:acme/*
        f"{base}#aws_iam_role.heredoc": "warn-ref",  # <<EOF ... EOF with :pull_request
        f"{base}#google_iam_workload_identity_pool_provider.github": "pass",
        f"{base}#azuread_application_federated_identity_credential.fic": "pass",
        f"{base}#azuread_application_flexible_federated_identity_credential.flex": "warn-org",
        # dynamic "condition" with for_each over var.subjects, whose default is []: no condition at all
        f"{base}#data.aws_iam_policy_document.dynamic_subjects": "fail",
    }


def test_terraform_principal_resolves_to_the_oidc_provider_url() -> None:
    configs = {c.name: c for c in load_configs([str(ASSETS / "terraform" / "main.tf")])}
    result = check(configs["aws_iam_role.inline"])
    assert "principal-unresolved" not in [f.rule for f in result.findings]
    assert result.facts["statements"][0]["issuer_hosts"] == ["token.actions.githubusercontent.com"]


def test_terraform_admin_attachment_is_reported() -> None:
    configs = {c.name: c for c in load_configs([str(ASSETS / "terraform" / "main.tf")])}
    assert configs["aws_iam_role.deploy"].admin_permissions == ("AdministratorAccess",)
    assert configs["aws_iam_role.inline"].admin_permissions == ()


def test_terraform_plan_json_including_unknown_after_apply() -> None:
    path = str(INPUTS / "plan.json")
    assert verdicts(path) == {
        f"{path}#aws_iam_role.gh": "warn-ref",
        f"{path}#google_iam_workload_identity_pool_provider.gh": "pass",
        f"{path}#azurerm_federated_identity_credential.star": "broken",
        f"{path}#module.m.aws_iam_role.computed": "indeterminate",
    }


def test_get_role_list_roles_urlencoded_and_azure_value_list() -> None:
    assert verdicts(INPUTS / "get-role.json") == {str(INPUTS / "get-role.json"): "pass"}
    roles = str(INPUTS / "list-roles.json")
    assert verdicts(roles) == {f"{roles}#good": "pass", f"{roles}#aud-only": "fail"}
    azure = str(INPUTS / "azure-list.json")
    assert verdicts(azure) == {f"{azure}#main": "pass", f"{azure}#star": "broken"}


def test_gcloud_describe_yaml_camelcase() -> None:
    assert verdicts(INPUTS / "gcloud-describe.yaml") == {
        str(INPUTS / "gcloud-describe.yaml"): "pass"
    }


def test_findings_have_lines_in_the_file() -> None:
    path = str(INPUTS / "list-roles.json")
    aud_only = next(c for c in load_configs([path]) if c.name == "aud-only")
    finding = next(f for f in check(aud_only).findings if f.rule == "sub-missing")
    assert finding.location is not None and finding.location.path == path and finding.location.line


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("invalid.json", "not valid JSON"),
        ("list.json", "top-level JSON is a list"),
        ("unknown-provider.json", "unknown provider"),
        ("invalid.yaml", "not valid YAML"),
        ("invalid.tf", "not valid Terraform HCL"),
        ("statement-string.json", "no Statement list"),
    ],
)
def test_bad_input_names_the_file(name: str, problem: str) -> None:
    path = str(BAD / name)
    with pytest.raises(InputError) as info:
        check(load_configs([path])[0])
    assert info.value.path == path
    assert problem in info.value.problem
    assert info.value.exit_code == 2


def test_twenty_megabyte_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    policy = {"Version": "2012-10-17", "Statement": [], "Padding": "x" * (20 * MIB)}
    big.write_text(json.dumps(policy))
    with pytest.raises(InputError) as info:
        load_configs([str(big)])
    assert info.value.path == str(big)
    assert "over the limit" in info.value.problem


def test_missing_file_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_configs([str(tmp_path / "nope.json")])
    (tmp_path / "README.json").write_text('{"name": "x"}')
    with pytest.raises(InputError, match="no trust configuration found"):
        load_configs([str(tmp_path)])


def test_directory_skips_unrelated_files_but_not_broken_trust_files(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"name": "app"}')
    (tmp_path / "role.json").write_text(
        json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Principal": {
                            "Federated": "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"
                        },
                        "Condition": {
                            "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/*"}
                        },
                    }
                ]
            }
        )
    )
    assert verdicts(tmp_path) == {str(tmp_path / "role.json"): "warn-org"}
    # files that mention no trust marker are not read: a permissions policy, a bucket policy, a Helm template
    (tmp_path / "permissions.json").write_text(
        json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    )
    (tmp_path / "bucket.json").write_text(
        json.dumps(
            {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}
        )
    )
    (tmp_path / "issuer.yaml").write_text(
        "kind: Issuer\nspec:\n  acme: {{ .Values.acme | toYaml }}\n"
    )
    assert verdicts(tmp_path) == {str(tmp_path / "role.json"): "warn-org"}
    (tmp_path / "broken.json").write_text(
        '{"Statement": [{"Action": "sts:AssumeRoleWithWebIdentity",'
    )
    with pytest.raises(InputError) as info:
        load_configs([str(tmp_path)])
    assert info.value.path == str(tmp_path / "broken.json")


def test_statement_that_is_not_an_object() -> None:
    from verifier.checks.oidc_trust import TrustConfig

    cfg = TrustConfig(
        provider="aws", subject="p.json", path="p.json", document={"Statement": ["x"]}
    )
    with pytest.raises(InputError, match=r"Statement\[0\] is not an object"):
        check(cfg)


# --- the HCL reader -----------------------------------------------------------------------------------


def test_hcl_reader_shapes() -> None:
    from verifier.sources.trust_policy_files import parse_hcl

    text = """
# comment
/* block
   comment */
resource "aws_iam_role" "r" {
  name = "a \\"quoted\\" ${var.env}-${lookup(var.m, "k", "}")}" // trailing
  count = var.enabled ? 1 : 0
  tags = { Team = "x", "k.y" = 2, z: true }
  list = [
    "a",
    null,
    1.5,
  ]
  policy = <<-EOT
    {"a": 1}
    EOT
  for_each = { for k, v in var.m : k => v if v != "" }
  nested {
    x = jsonencode({
      A = ["b"]
    })
  }
}
locals { only = "one" }
"""
    data = parse_hcl(text)
    body = data["resource"][0]["aws_iam_role"]["r"]
    assert body["name"] == 'a "quoted" ${var.env}-${lookup(var.m, "k", "}")}'
    assert body["count"] == "${var.enabled ? 1 : 0}"
    assert body["tags"] == {"Team": "x", "k.y": 2, "z": True}
    assert body["list"] == ["a", None, 1.5]
    assert body["policy"] == '{"a": 1}'
    assert body["for_each"] == '${{ for k, v in var.m : k => v if v != "" }}'
    assert body["nested"][0]["x"].startswith("${jsonencode({") and body["nested"][0]["x"].endswith(
        "})}"
    )
    assert data["locals"] == [{"only": "one"}]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('resource "x" "y" {\n  a = "open\n}\n', "unterminated string at line 2"),
        ('resource "x" "y" {\n  a = 1\n', "missing '}'"),
        ("a = <<EOF\nno end\n", "heredoc EOF is not closed"),
        ("a = [1,\n2\n", "expected ',' or ']' at line 3"),
        ("resource x {\n  = 1\n}\n", "unexpected '=' at line 2"),
        ("/* open", "unterminated comment"),
    ],
)
def test_hcl_reader_errors_name_the_line(text: str, problem: str) -> None:
    from verifier.sources.trust_policy_files import HclError, parse_hcl

    with pytest.raises(HclError) as info:
        parse_hcl(text)
    assert problem in str(info.value)


def test_account_authorization_details_admin_amplifies() -> None:
    path = str(INPUTS / "authorization-details.json")
    results = {c.name: (c, check(c)) for c in load_configs([path])}
    config, result = results["org-admin"]
    assert result.verdict == "warn-org"
    assert config.admin_permissions == ("AdministratorAccess",)
    assert any(
        f.rule == "role-admin-permissions" and f.severity == Severity.CRITICAL
        for f in result.findings
    )
    config, result = results["star-inline"]
    assert config.admin_permissions == ("inline policy Action '*' on Resource '*'",)
    assert result.facts["admin_permissions"] == ["inline policy Action '*' on Resource '*'"]


def test_terraform_templatefile_is_followed(tmp_path: Path) -> None:
    (tmp_path / "trust.json.tpl").write_text(
        json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Principal": {"Federated": "${provider_arn}"},
                        "Condition": {
                            "StringEquals": {
                                "token.actions.githubusercontent.com:sub": "${subject}"
                            }
                        },
                    }
                ]
            }
        )
    )
    tf = tmp_path / "main.tf"
    tf.write_text(
        'resource "aws_iam_role" "r" {\n'
        '  assume_role_policy = templatefile("${path.module}/trust.json.tpl", {\n'
        "    provider_arn = aws_iam_openid_connect_provider.gh.arn\n    subject = var.subject\n  })\n}\n"
    )
    (result,) = [check(c) for c in load_configs([str(tf)])]
    assert result.verdict == "indeterminate"  # the subject is passed in by the caller
    tf.write_text('resource "aws_iam_role" "r" {\n  assume_role_policy = file("missing.json")\n}\n')
    with pytest.raises(InputError) as info:
        load_configs([str(tf)])
    assert info.value.path == str(tmp_path / "missing.json")


@pytest.mark.parametrize(
    "doc",
    [
        {"format_version": "1.2", "planned_values": "x"},
        {
            "Resources": {
                "R": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}
            },
            "Parameters": ["not", "a", "map"],
        },
        {"Roles": [{"RoleName": "r", "AssumeRolePolicyDocument": "%7Bnot json"}]},
    ],
)
def test_malformed_known_shapes_are_input_errors(tmp_path: Path, doc: object) -> None:
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError) as info:
        for config in load_configs([str(path)]):
            check(config)
    assert str(path) in str(info.value)


def test_hcl_attribute_and_block_with_one_name() -> None:
    from verifier.sources.trust_policy_files import HclError, parse_hcl

    with pytest.raises(HclError, match="both an attribute and a block"):
        parse_hcl("a = 1\na {\n}\n")


def test_multi_document_yaml(tmp_path: Path) -> None:
    path = tmp_path / "creds.yaml"
    path.write_text(
        "kind: ConfigMap\nmetadata: {name: x}\n---\n"
        "issuer: https://token.actions.githubusercontent.com\nsubject: repo:acme/app:pull_request\n"
        "audiences: [api://AzureADTokenExchange]\n---\n"
    )
    assert verdicts(path) == {str(path): "warn-ref"}
    (tmp_path / "creds.yaml").write_text("kind: ConfigMap\n---\nkind: Secret\n")
    with pytest.raises(InputError, match="unknown provider"):
        load_configs([str(path)])
    (tmp_path / "other.json").write_text(
        json.dumps(
            {
                "issuer": "https://token.actions.githubusercontent.com",
                "subject": "repo:acme/app:ref:refs/heads/main",
            }
        )
    )
    assert verdicts(tmp_path) == {str(tmp_path / "other.json"): "pass"}


def test_terraform_module_split_across_files() -> None:
    """data.tf holds the policy document and the admin attachment, main.tf the role (a common layout)."""
    module = ASSETS / "terraform-module"
    main = str(module / "main.tf")
    (config,) = load_configs([main])
    assert config.name == "aws_iam_role.deploy"
    assert config.admin_permissions == ("AdministratorAccess",)
    result = check(config)
    assert result.verdict == "warn-org"
    assert any(
        f.rule == "role-admin-permissions" and f.severity == Severity.CRITICAL
        for f in result.findings
    )
    # walking the module evaluates the document once, through the role
    assert [c.subject for c in load_configs([str(module)])] == [main]
    # named explicitly, data.tf's document is evaluated on its own
    (alone,) = load_configs([str(module / "data.tf")])
    assert alone.name == "data.aws_iam_policy_document.github_trust"
    assert check(alone).verdict == "warn-org"


def test_terraform_reference_to_an_undefined_document(tmp_path: Path) -> None:
    tf = tmp_path / "main.tf"
    tf.write_text(
        'resource "aws_iam_role" "r" {\n  assume_role_policy = data.aws_iam_policy_document.nope.json\n}\n'
    )
    with pytest.raises(InputError, match="which no .tf file of .* defines"):
        load_configs([str(tf)])


def test_cdk_synthesized_template() -> None:
    path = INPUTS / "cdk.template.json"
    (config,) = load_configs([str(path)])
    result = check(config)
    assert result.verdict == "pass"  # refs/tags/v* is a constrained pattern
    assert "principal-unresolved" not in [f.rule for f in result.findings]
    assert result.facts["statements"][0]["issuer_hosts"] == ["token.actions.githubusercontent.com"]


def test_terraform_counted_resources_and_for_expressions() -> None:
    """`[0]` indexes on documents, roles and providers; a for expression's element template is evaluated."""
    module = ASSETS / "terraform-count"
    (config,) = load_configs([str(module)])
    assert config.subject == str(module / "role.tf")
    assert config.admin_permissions == ("AdministratorAccess",)
    result = check(config)
    # every element is repo:<owner>/<name>:environment:production
    assert result.verdict == "pass"
    assert result.facts["statements"][0]["sub"] == [
        "repo:${var.owner}/${name}:environment:production"
    ]
    assert result.facts["statements"][0]["issuer_hosts"] == ["token.actions.githubusercontent.com"]


def test_terraform_templated_issuer_host() -> None:
    """Keys `${local.x}:sub` belong to the templated principal; the subject list decides, the owner id
    condition bounds the broad reading at warn-org."""
    (result,) = [check(c) for c in load_configs([str(ASSETS / "terraform-templated-host")])]
    assert result.verdict == "indeterminate"
    assert (result.facts["verdict_if_narrow"], result.facts["verdict_if_broad"]) == (
        "pass",
        "warn-org",
    )


def test_terraform_json_syntax() -> None:
    """`.tf.json` (Terraform's JSON syntax, what CDKTF writes) reads like HCL."""
    path = str(ASSETS / "terraform-json" / "main.tf.json")
    assert verdicts(path) == {
        f"{path}#aws_iam_role.deploy": "warn-org",
        f"{path}#azuread_application_federated_identity_credential.main": "pass",
    }
    assert verdicts(ASSETS / "terraform-json") == verdicts(path)
