"""Terraform module calls and template files rendered as ``terraform plan`` renders them (issue 15 leftovers).

Each test writes a small tree of modules, reads it through the real reader and judges it with the real
check. The verdicts were written before the code ran; the docstrings say what the reader did before (a child
module judged with its own variable defaults, a template file read without its variables).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli
from verifier.checks.oidc_trust import check, check_all
from verifier.errors import InputError
from verifier.sources.trust_policy_files import load_configs

ROLE_MODULE = """
variable "subject" {
  default = "repo:acme/app:ref:refs/heads/main"
}
resource "aws_iam_openid_connect_provider" "gh" {
  url = "https://token.actions.githubusercontent.com"
}
resource "aws_iam_role" "deploy" {
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = { Federated = aws_iam_openid_connect_provider.gh.arn }
      Condition = {
        StringEquals = { "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com" }
        StringLike   = { "token.actions.githubusercontent.com:sub" = var.subject }
      }
    }]
  })
}
"""

GITHUB = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"


def write(root: Path, **files: str) -> Path:
    """Write ``files`` (``__`` in a name is a directory separator) under ``root``."""
    for name, text in files.items():
        target = root / name.replace("__", "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def verdicts(*paths: Path | str) -> dict[str, str]:
    configs = load_configs([str(p) for p in paths])
    return {c.subject: r.verdict for c, r in zip(configs, check_all(configs), strict=True)}


def names(*paths: Path | str) -> dict[str, str]:
    """Verdict per configuration name (the part after '#'), independent of how the path was given."""
    return {s.split("#", 1)[-1]: v for s, v in verdicts(*paths).items()}


def caller(arguments: str, extra: str = "", meta: str = "") -> str:
    return f'module "ci" {{\n  source = "./modules/oidc"\n{meta}{arguments}\n}}\n{extra}'


# --- module calls -----------------------------------------------------------------------------------


def test_callers_argument_decides_not_the_child_default(tmp_path: Path) -> None:
    """The brief's example: the child's default pins one branch, the caller passes `repo:*`. The walk
    judged the child with its default (pass, allowed); the caller file alone was "unknown provider"."""
    write(
        tmp_path,
        **{"modules__oidc__main.tf": ROLE_MODULE, "main.tf": caller('  subject = "repo:*"')},
    )
    expected = {"module.ci.aws_iam_role.deploy": "fail"}
    assert names(tmp_path) == expected
    assert names(tmp_path / "main.tf") == expected
    assert verdicts(tmp_path / "main.tf") == {
        f"{tmp_path / 'main.tf'}#module.ci.aws_iam_role.deploy": "fail"
    }
    # The child alone, no caller seen: its own defaults.
    assert names(tmp_path / "modules" / "oidc") == {str(tmp_path / "modules/oidc/main.tf"): "pass"}


def test_findings_point_into_the_child_module(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{"modules__oidc__main.tf": ROLE_MODULE, "main.tf": caller('  subject = "repo:*"')},
    )
    (config,) = load_configs([str(tmp_path / "main.tf")])
    result = check(config)
    owner = next(f for f in result.findings if f.rule == "sub-wildcard-owner")
    assert owner.location is not None
    assert owner.location.path == str(tmp_path / "modules" / "oidc" / "main.tf")
    assert owner.location.line == 17  # the StringLike line of the child


def test_argument_from_callers_variable_default_or_local_is_the_same(tmp_path: Path) -> None:
    """Metamorphic: moving the argument into a variable default or a local of the caller, or splitting the
    caller across files, never changes the verdict."""
    layouts = {
        "literal": {"main.tf": caller('  subject = "repo:acme/*"')},
        "variable": {
            "main.tf": caller("  subject = var.s", 'variable "s" {\n  default = "repo:acme/*"\n}\n')
        },
        "local-in-another-file": {
            "main.tf": caller("  subject = local.s"),
            "locals.tf": 'locals {\n  s = "repo:${var.org}/*"\n}\n',
            "variables.tf": 'variable "org" {\n  default = "acme"\n}\n',
        },
    }
    seen = {}
    for label, files in layouts.items():
        root = write(tmp_path / label, **{"modules__oidc__main.tf": ROLE_MODULE, **files})
        seen[label] = names(root)
        assert names(root / "main.tf") == seen[label]
    assert set(map(str, seen.values())) == {str({"module.ci.aws_iam_role.deploy": "warn-org"})}


def test_argument_the_caller_does_not_set_keeps_the_default(tmp_path: Path) -> None:
    write(tmp_path, **{"modules__oidc__main.tf": ROLE_MODULE, "main.tf": caller("")})
    assert names(tmp_path) == {"module.ci.aws_iam_role.deploy": "pass"}


def test_argument_open_in_the_caller_stays_a_template(tmp_path: Path) -> None:
    """The caller's own variable without default is a deploy-time value: not the child's safe default."""
    write(
        tmp_path,
        **{
            "modules__oidc__main.tf": ROLE_MODULE,
            "main.tf": caller("  subject = var.subject", 'variable "subject" {}\n'),
        },
    )
    (result,) = check_all(load_configs([str(tmp_path)]))
    assert result.verdict == "indeterminate"
    assert result.facts["statements"][0]["sub"] == ["${var.subject}"]


def test_conditional_in_the_caller_renders_both_and_the_worst_decides(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{
            "modules__oidc__main.tf": ROLE_MODULE,
            "main.tf": caller(
                '  subject = var.strict ? "repo:acme/app:ref:refs/heads/main" : "repo:acme/*"',
                'variable "strict" {\n  type = bool\n}\n',
            ),
        },
    )
    (result,) = check_all(load_configs([str(tmp_path)]))
    assert result.verdict == "warn-org"
    assert {r["verdict"] for r in result.facts["renderings"]} == {"pass", "warn-org"}


def test_for_each_on_the_module_is_one_configuration_per_instance(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{
            "modules__oidc__main.tf": ROLE_MODULE,
            "main.tf": caller(
                "  subject = each.value",
                meta='  for_each = { app = "repo:acme/app:ref:refs/heads/main", org = "repo:acme/*" }\n',
            ),
        },
    )
    assert names(tmp_path) == {
        'module.ci["app"].aws_iam_role.deploy': "pass",
        'module.ci["org"].aws_iam_role.deploy': "warn-org",
    }


def test_count_on_the_module_binds_count_index(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{
            "modules__oidc__main.tf": ROLE_MODULE,
            "main.tf": caller(
                "  subject = local.subjects[count.index]",
                'locals {\n  subjects = ["repo:acme/app:ref:refs/heads/main", "repo:*"]\n}\n',
                meta="  count = 2\n",
            ),
        },
    )
    assert names(tmp_path) == {
        "module.ci[0].aws_iam_role.deploy": "pass",
        "module.ci[1].aws_iam_role.deploy": "fail",
    }


def test_nested_modules_pass_values_through(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{
            "modules__oidc__main.tf": ROLE_MODULE,
            "modules__wrap__main.tf": 'variable "org" {}\n'
            'module "inner" {\n  source  = "../oidc"\n  subject = "repo:${var.org}/*"\n}\n',
            "main.tf": 'module "outer" {\n  source = "./modules/wrap"\n  org    = "acme"\n}\n',
        },
    )
    assert names(tmp_path) == {"module.outer.module.inner.aws_iam_role.deploy": "warn-org"}


def test_child_modules_files_are_one_module(tmp_path: Path) -> None:
    """The child's policy document, variables and role sit in three files."""
    write(
        tmp_path,
        **{
            "modules__oidc__variables.tf": 'variable "subjects" {\n  default = ["repo:acme/app:ref:refs/heads/main"]\n}\n',
            "modules__oidc__data.tf": f"""
data "aws_iam_policy_document" "trust" {{
  statement {{
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {{
      type        = "Federated"
      identifiers = ["{GITHUB}"]
    }}
    condition {{
      test     = "StringLike"
      variable = "token.actions.githubusercontent.com:sub"
      values   = var.subjects
    }}
  }}
}}
""",
            "modules__oidc__role.tf": 'resource "aws_iam_role" "r" {\n'
            "  assume_role_policy = data.aws_iam_policy_document.trust.json\n}\n",
            "main.tf": caller('  subjects = ["repo:acme/app:ref:refs/heads/main", "repo:*"]'),
        },
    )
    assert names(tmp_path) == {"module.ci.aws_iam_role.r": "fail"}


def test_module_that_calls_itself_is_an_input_error(tmp_path: Path) -> None:
    write(tmp_path, **{"main.tf": 'module "again" {\n  source = "./"\n}\n' + ROLE_MODULE})
    with pytest.raises(InputError) as info:
        load_configs([str(tmp_path / "main.tf")])
    assert "nest deeper" in info.value.problem
    assert info.value.path.endswith("main.tf")


def test_missing_module_directory_is_an_input_error(tmp_path: Path) -> None:
    write(tmp_path, **{"main.tf": caller('  subject = "repo:*"')})
    with pytest.raises(InputError) as info:
        load_configs([str(tmp_path)])
    assert "is not a directory" in info.value.problem
    assert info.value.path == str(tmp_path / "main.tf")


def test_unreadable_module_passed_trust_values_is_unsupported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A registry module cannot be read; passing it subjects is not silence but `unsupported` (denied)."""
    write(
        tmp_path,
        **{
            "main.tf": 'module "gh" {\n'
            '  source   = "terraform-aws-modules/iam/aws//modules/iam-role"\n'
            '  version  = "5.0.0"\n'
            '  oidc_subjects = ["repo:*"]\n}\n'
        },
    )
    (result,) = check_all(load_configs([str(tmp_path)]))
    assert result.verdict == "unsupported"
    assert result.subject == f"{tmp_path}/main.tf#module.gh"
    assert 'module "gh"' in result.facts["reason"]
    assert "terraform-aws-modules/iam/aws//modules/iam-role" in result.facts["reason"]
    run = run_cli(capsys, "check", "trust-policy", str(tmp_path))
    assert run.code == 1
    assert "Traceback" not in run.err


def test_unreadable_module_about_something_else_is_not_a_trust_configuration(
    tmp_path: Path,
) -> None:
    """A bucket or registry module says nothing about OIDC trust (`audit_log`, `subnet_ids`,
    `repository_name` are not trust settings): not rendered, and not a configuration."""
    write(
        tmp_path,
        **{
            "main.tf": 'module "bucket" {\n  source = "terraform-aws-modules/s3-bucket/aws"\n'
            '  bucket = "logs"\n  audit_log = true\n  subnet_ids = ["a"]\n}\n'
            'module "ecr" {\n  source = "terraform-aws-modules/ecr/aws"\n'
            '  repository_name = "app"\n}\n'
        },
    )
    with pytest.raises(InputError) as info:
        load_configs([str(tmp_path / "main.tf")])
    assert "unknown provider" in info.value.problem


# --- template files ---------------------------------------------------------------------------------

TEMPLATE = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",'
    ' "Action": "sts:AssumeRoleWithWebIdentity",'
    f' "Principal": {{"Federated": "{GITHUB}"}},'
    ' "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "${subject}"}}}]}\n'
)


def role(expression: str) -> str:
    return f'resource "aws_iam_role" "deploy" {{\n  assume_role_policy = {expression}\n}}\n'


def test_templatefile_is_rendered_with_its_variables(tmp_path: Path) -> None:
    """`templatefile(..., { subject = "repo:*" })` was read without its variables: `${subject}` stayed a
    template, indeterminate, allowed."""
    write(
        tmp_path,
        **{
            "trust.json.tftpl": TEMPLATE,
            "main.tf": role(
                'templatefile("${path.module}/trust.json.tftpl", { subject = "repo:*" })'
            ),
        },
    )
    assert names(tmp_path / "main.tf") == {str(tmp_path / "main.tf"): "fail"}
    # Walked, the template is judged through the role that renders it, not on its own.
    assert names(tmp_path) == {str(tmp_path / "main.tf"): "fail"}


def test_templatefile_variable_from_a_default_is_the_same(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{
            "trust.json.tftpl": TEMPLATE,
            "variables.tf": 'variable "s" {\n  default = "repo:*"\n}\n',
            "main.tf": role('templatefile("${path.module}/trust.json.tftpl", { subject = var.s })'),
        },
    )
    assert names(tmp_path / "main.tf") == {str(tmp_path / "main.tf"): "fail"}


def test_template_directives_for_and_if(tmp_path: Path) -> None:
    template = (
        '{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",'
        f' "Principal": {{"Federated": "{GITHUB}"}},'
        ' "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": [\n'
        '%{ for i, s in subjects ~}\n"${s}"%{ if i < length(subjects) - 1 },%{ endif }\n%{ endfor ~}\n'
        '%{~ if !strict ~}, "repo:acme/*"%{ endif }\n]}}}]}\n'
    )
    write(
        tmp_path,
        **{
            "t.tftpl": template,
            "main.tf": 'variable "strict" {\n  type = bool\n}\n'
            + role(
                'templatefile("t.tftpl", { subjects = ["repo:acme/app:ref:refs/heads/main",'
                ' "repo:acme/lib:ref:refs/heads/main"], strict = var.strict })'
            ),
        },
    )
    (result,) = check_all(load_configs([str(tmp_path / "main.tf")]))
    assert result.verdict == "warn-org"
    assert sorted(r["verdict"] for r in result.facts["renderings"]) == ["pass", "warn-org"]


def test_file_in_a_condition_value_is_read(tmp_path: Path) -> None:
    """`file("sub.txt")` was an unresolved template (indeterminate, allowed)."""
    write(
        tmp_path,
        **{
            "sub.txt": "repo:*",
            "main.tf": role(
                'jsonencode({ Statement = [{ Effect = "Allow", Action = "sts:AssumeRoleWithWebIdentity",'
                f' Principal = {{ Federated = "{GITHUB}" }},'
                ' Condition = { StringLike = { "token.actions.githubusercontent.com:sub" ='
                ' file("${path.module}/sub.txt") } } }] })'
            ),
        },
    )
    assert names(tmp_path / "main.tf") == {str(tmp_path / "main.tf"): "fail"}


def test_file_outside_the_module_tree_is_unsupported(tmp_path: Path) -> None:
    (tmp_path / "outside.json").write_text(
        TEMPLATE.replace("${subject}", "repo:acme/app:ref:refs/heads/main")
    )
    write(tmp_path / "mod", **{"main.tf": role('file("${path.module}/../outside.json")')})
    (result,) = check_all(load_configs([str(tmp_path / "mod" / "main.tf")]))
    assert result.verdict == "unsupported"
    assert "outside the module tree" in result.facts["reason"]


def test_templatefile_in_a_child_module_reads_relative_to_the_child(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{
            "modules__oidc__trust.tftpl": TEMPLATE,
            "modules__oidc__main.tf": 'variable "subject" {\n  default = "repo:acme/app:ref:refs/heads/main"\n}\n'
            + role('templatefile("${path.module}/trust.tftpl", { subject = var.subject })'),
            "main.tf": caller('  subject = "repo:*"'),
        },
    )
    assert names(tmp_path) == {"module.ci.aws_iam_role.deploy": "fail"}


def test_deeply_nested_template_directives_are_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path,
        **{
            "t.tftpl": "%{ if true }" * 60 + TEMPLATE + "%{ endif }" * 60,
            "main.tf": role('templatefile("t.tftpl", { subject = "repo:*" })'),
        },
    )
    run = run_cli(capsys, "check", "trust-policy", str(tmp_path / "main.tf"))
    assert run.code == 2
    assert "main.tf" in run.err
    assert "Traceback" not in run.err


def test_module_fan_out_is_bounded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Eight nested levels of 8 instances each would be 16 million renderings: refused, exit 2."""
    files = {"modules__oidc__main.tf": ROLE_MODULE}
    for level in range(8):
        child = f"../l{level + 1}" if level < 7 else "../oidc"
        files[f"modules__l{level}__main.tf"] = (
            f'module "m" {{\n  source   = "{child}"\n'
            '  for_each = toset(["a", "b", "c", "d", "e", "f", "g", "h"])\n}\n'
        )
    files["main.tf"] = 'module "top" {\n  source = "./modules/l0"\n}\n'
    write(tmp_path, **files)
    run = run_cli(capsys, "check", "trust-policy", str(tmp_path / "main.tf"))
    assert run.code == 2
    assert "module instances" in run.err
    assert "Traceback" not in run.err


@pytest.mark.parametrize(
    "subject",
    [
        "repo:acme/app:ref:refs/heads/main",
        "repo:acme/app:*",
        "repo:acme/*",
        "repo:*",
        "repo:acme/app:ref:main",
    ],
)
def test_module_call_judges_as_the_inlined_module(tmp_path: Path, subject: str) -> None:
    """Metamorphic: calling the module with an argument gives the verdict of the module's text with that
    value as its default (the module inlined at the root); walking, naming the caller, and splitting the
    caller's variable into another file agree."""
    inlined = write(
        tmp_path / "inlined",
        **{"main.tf": ROLE_MODULE.replace("repo:acme/app:ref:refs/heads/main", subject)},
    )
    expected = set(names(inlined).values())
    called = write(
        tmp_path / "called",
        **{
            "modules__oidc__main.tf": ROLE_MODULE,
            "main.tf": caller("  subject = var.s"),
            "variables.tf": f'variable "s" {{\n  default = "{subject}"\n}}\n',
        },
    )
    assert set(names(called).values()) == expected
    assert set(names(called / "main.tf").values()) == expected
    assert len(expected) == 1


# --- values that are still templates -----------------------------------------------------------------


def test_local_holding_an_open_variable_is_not_a_known_string(tmp_path: Path) -> None:
    """`locals { env = var.env }` (no default) was rendered to the text `${var.env}`, and
    `local.env == "dev" ? "repo:*" : …` compared that text with "dev": false, the safe branch, pass."""
    condition = 'local.env == "dev" ? "repo:*" : "repo:acme/app:ref:refs/heads/main"'
    write(
        tmp_path,
        **{
            "main.tf": 'variable "env" {}\nlocals {\n  env = var.env\n}\n'
            + ROLE_MODULE.replace("var.subject", condition)
        },
    )
    (result,) = check_all(load_configs([str(tmp_path / "main.tf")]))
    assert result.verdict == "fail"
    assert {r["verdict"] for r in result.facts["renderings"]} == {"fail", "pass"}


def test_open_caller_value_in_a_child_condition_renders_both_branches(tmp_path: Path) -> None:
    """The caller passes `strict = var.strict` (no default): the child's `var.strict ? … : …` must not
    read the passed text as a known (truthy) string."""
    write(
        tmp_path,
        **{
            "modules__oidc__main.tf": 'variable "strict" {\n  default = true\n}\n'
            + ROLE_MODULE.replace(
                "var.subject", 'var.strict ? "repo:acme/app:ref:refs/heads/main" : "repo:*"'
            ),
            "main.tf": caller("  strict = var.strict", 'variable "strict" {}\n'),
        },
    )
    (result,) = check_all(load_configs([str(tmp_path)]))
    assert result.verdict == "fail"


def test_template_rendering_that_is_not_json_drops_out(tmp_path: Path) -> None:
    """A `%{ for }` over a list the caller leaves open renders once with the index unknown: of the two
    renderings of its `%{ if }` comma, the one that is not JSON cannot be deployed and drops out."""
    template = (
        '{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",'
        f' "Principal": {{"Federated": "{GITHUB}"}},'
        ' "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": ['
        '%{ for i, s in subs ~}"${s}"%{ if i < length(subs) - 1 },%{ endif }%{ endfor ~}'
        ', "repo:acme/*"]}}}]}\n'
    )
    write(
        tmp_path,
        **{
            "t.tftpl": template,
            "main.tf": 'variable "subs" {}\n'
            + role('templatefile("t.tftpl", { subs = var.subs })'),
        },
    )
    (result,) = check_all(load_configs([str(tmp_path)]))
    assert result.verdict == "warn-org"
    assert result.facts["statements"][0]["sub"] == ["${s}", "repo:acme/*"]


def test_called_module_whose_own_rendering_fails_is_judged_as_called(tmp_path: Path) -> None:
    """The child on its own cannot be rendered (its template splices an open list into the JSON); the
    caller passes the statements. Walking the tree judges the call; the child named alone is exit 2."""
    write(
        tmp_path,
        **{
            "modules__r__t.tftpl": '{"Version": "2012-10-17", "Statement": ${jsonencode(statements)}}\n',
            "modules__r__main.tf": 'variable "statements" {}\nresource "aws_iam_role" "r" {\n'
            '  assume_role_policy = templatefile("${path.module}/t.tftpl", '
            "{ statements = var.statements })\n}\n",
            "main.tf": 'module "r" {\n  source = "./modules/r"\n  statements = [{\n'
            '    Effect = "Allow", Action = "sts:AssumeRoleWithWebIdentity",\n'
            f'    Principal = {{ Federated = "{GITHUB}" }},\n'
            '    Condition = { StringLike = { "token.actions.githubusercontent.com:sub" = "repo:*" } }\n'
            "  }]\n}\n",
        },
    )
    with pytest.raises(InputError) as info:
        load_configs([str(tmp_path / "modules" / "r")])
    assert "not valid JSON" in info.value.problem
    assert names(tmp_path) == {"module.r.aws_iam_role.r": "fail"}


def test_registry_module_installed_by_terraform_init_is_rendered(tmp_path: Path) -> None:
    """After `terraform init`, .terraform/modules/modules.json says where a registry module is (its key is
    the call path, `outer.inner`): it is rendered like a local one. Listed from another source, or not
    initialised, it stays unsupported."""
    write(
        tmp_path,
        **{
            ".terraform__modules__gh__main.tf": ROLE_MODULE,
            "main.tf": 'module "gh" {\n  source  = "acme/oidc/aws"\n  version = "1.0.0"\n'
            '  subject = "repo:*"\n}\n',
        },
    )
    manifest = tmp_path / ".terraform" / "modules" / "modules.json"
    entries = [
        {"Key": "", "Source": "", "Dir": "."},
        {
            "Key": "gh",
            "Source": "registry.terraform.io/acme/oidc/aws",
            "Version": "1.0.0",
            "Dir": ".terraform/modules/gh",
        },
    ]
    manifest.write_text(json.dumps({"Modules": entries}), encoding="utf-8")
    assert names(tmp_path) == {"module.gh.aws_iam_role.deploy": "fail"}
    assert names(tmp_path / "main.tf") == {"module.gh.aws_iam_role.deploy": "fail"}
    entries[1]["Source"] = "registry.terraform.io/other/oidc/aws"
    manifest.write_text(json.dumps({"Modules": entries}), encoding="utf-8")
    assert names(tmp_path) == {"module.gh": "unsupported"}
    manifest.unlink()
    assert names(tmp_path) == {"module.gh": "unsupported"}


def test_json_mentioning_module_is_not_read_as_a_trust_file(tmp_path: Path) -> None:
    """The module-call marker applies to Terraform files only: a tsconfig.json (`"module": "commonjs"`,
    comments, not JSON) next to a module call is not read."""
    write(
        tmp_path,
        **{
            "modules__oidc__main.tf": ROLE_MODULE,
            "main.tf": caller('  subject = "repo:*"'),
            "web__tsconfig.json": '{\n  // comment\n  "compilerOptions": {"module": "commonjs"}\n}\n',
        },
    )
    assert names(tmp_path) == {"module.ci.aws_iam_role.deploy": "fail"}


def test_for_expression_over_the_callers_list_is_evaluated(tmp_path: Path) -> None:
    """The shape of terraform-aws-modules/iam's iam-role module (6.5.0): a dynamic condition whose values
    are `[for subject in var.oidc_subjects : "repo:${trimprefix(subject, "repo:")}"]`. The reader replaced
    every `[for … : "TEMPLATE"]` by its element template before evaluating, so the caller's `repo:*` was the
    template `repo:${trimprefix(subject, …)}`: indeterminate, allowed. Known list → the values Terraform
    renders; an open list → still the element template."""
    child = f"""
variable "oidc_subjects" {{
  default = []
}}
data "aws_iam_policy_document" "this" {{
  statement {{
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {{
      type        = "Federated"
      identifiers = ["{GITHUB}"]
    }}
    dynamic "condition" {{
      for_each = length(var.oidc_subjects) > 0 ? [1] : []
      content {{
        test     = "StringEquals"
        variable = "token.actions.githubusercontent.com:sub"
        values   = [for subject in var.oidc_subjects : "repo:${{trimprefix(subject, "repo:")}}"]
      }}
    }}
  }}
}}
resource "aws_iam_role" "this" {{
  assume_role_policy = data.aws_iam_policy_document.this.json
}}
"""
    write(
        tmp_path,
        **{
            "modules__iam-role__main.tf": child,
            "main.tf": 'module "gh" {\n  source = "./modules/iam-role"\n'
            '  oidc_subjects = ["acme/app:pull_request", "repo:acme/app:ref:refs/heads/main"]\n}\n'
            'module "wide" {\n  source = "./modules/iam-role"\n  oidc_subjects = ["*"]\n}\n'
            'module "open" {\n  source = "./modules/iam-role"\n  oidc_subjects = var.subjects\n}\n'
            'variable "subjects" {}\n',
        },
    )
    configs = load_configs([str(tmp_path / "main.tf")])
    results = {str(c.name): r for c, r in zip(configs, check_all(configs), strict=True)}
    assert results["module.gh.aws_iam_role.this"].verdict == "warn-ref"
    assert results["module.gh.aws_iam_role.this"].facts["statements"][0]["sub"] == [
        "repo:acme/app:pull_request",
        "repo:acme/app:ref:refs/heads/main",
    ]
    # StringEquals: a literal '*' never matches; the role is dead, not open
    assert results["module.wide.aws_iam_role.this"].verdict == "broken"
    assert results["module.open.aws_iam_role.this"].verdict == "indeterminate"
