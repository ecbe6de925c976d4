"""Module instances and resources Terraform does not create (``count = 0``, ``for_each`` over nothing).

terraform-aws-modules' ``create = false`` instances (``count = var.create ? 1 : 0`` inside the module) were
read anyway: a role Terraform never creates was judged (``fail`` with the caller's ``repo:*``, ``error`` for the
empty document of terraform-aws-iam 6.5.0's ``iam_role_disabled``), a false deny. A count or ``for_each`` the
text decides (literals, the caller's arguments, variable defaults: the deployed value, as everywhere in the
reader) to be 0 or empty means "not created": not judged, and said in a notice. A count the text does not
decide (a variable without default, a resource attribute, an undecided conditional with a non-zero branch)
never removes anything. Each test writes a small module tree; the verdicts were written before the code ran.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli
from verifier.checks.oidc_trust import check_all
from verifier.sources.trust_policy_files import load_configs

# Shaped like terraform-aws-modules/iam's iam-role: every block counted on `var.create`.
COUNTED_MODULE = """
variable "create" {
  default = true
}
variable "subject" {
  default = "repo:acme/app:ref:refs/heads/main"
}
resource "aws_iam_openid_connect_provider" "gh" {
  count = var.create ? 1 : 0
  url   = "https://token.actions.githubusercontent.com"
}
data "aws_iam_policy_document" "this" {
  count = var.create ? 1 : 0
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.gh[0].arn]
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
resource "aws_iam_role" "this" {
  count              = var.create ? 1 : 0
  assume_role_policy = data.aws_iam_policy_document.this[0].json
}
"""


def role(name: str, subject: str, meta: str = "") -> str:
    """A root-module role with an inline trust policy for ``subject``; ``meta`` goes first in the block."""
    return f"""
resource "aws_iam_role" "{name}" {{
{meta}  assume_role_policy = jsonencode({{
    Statement = [{{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = {{ Federated = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com" }}
      Condition = {{
        StringEquals = {{ "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com" }}
        StringLike   = {{ "token.actions.githubusercontent.com:sub" = "{subject}" }}
      }}
    }}]
  }})
}}
"""


PINNED = "repo:acme/app:ref:refs/heads/main"


def write(root: Path, **files: str) -> Path:
    """Write ``files`` (``__`` in a name is a directory separator) under ``root``."""
    for name, text in files.items():
        target = root / name.replace("__", "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def names(path: Path, skipped: list[str] | None = None) -> dict[str, str]:
    """Verdict per configuration name (its address, as plan JSON names it)."""
    configs = load_configs([str(path)], skipped=skipped)
    return {str(c.name): r.verdict for c, r in zip(configs, check_all(configs), strict=True)}


def module(call: str, meta: str = "", arguments: str = "") -> str:
    return f'module "{call}" {{\n  source = "./modules/role"\n{meta}{arguments}}}\n'


# --- known zero: not created ------------------------------------------------------------------------


def test_create_false_instance_is_not_read(tmp_path: Path) -> None:
    """terraform-aws-modules' `create = false` instance, given `repo:*` too: Terraform creates nothing in
    it. Before: `module.off.aws_iam_role.this` was judged (fail), a false deny."""
    write(
        tmp_path,
        **{
            "modules__role__main.tf": COUNTED_MODULE,
            "main.tf": module("on")
            + module("off", arguments='  create  = false\n  subject = "repo:*"\n'),
        },
    )
    skipped: list[str] = []
    assert names(tmp_path, skipped) == {"module.on.aws_iam_role.this[0]": "pass"}
    assert any("module.off.aws_iam_role.this" in s and "count" in s for s in skipped), skipped


@pytest.mark.parametrize(
    "meta",
    [
        "  count = 0\n",
        "  count = var.regions == [] ? 0 : 1\n",
        "  for_each = {}\n",
        "  for_each = toset([])\n",
        "  for_each = var.items\n",
        '  for_each = { for k, v in var.items : k => v if v != "" }\n',
    ],
)
def test_module_with_no_instance_is_not_read(tmp_path: Path, meta: str) -> None:
    """A module call with zero instances (a literal, or a root variable's default: the deployed value) is
    not rendered at all; it used to render one instance with `count`/`each` unbound (fail here)."""
    write(
        tmp_path,
        **{
            "modules__role__main.tf": COUNTED_MODULE,
            "variables.tf": 'variable "items" {\n  default = {}\n}\n'
            'variable "regions" {\n  default = []\n}\n',
            "main.tf": module("on") + module("zero", meta, '  subject = "repo:*"\n'),
        },
    )
    skipped: list[str] = []
    assert names(tmp_path, skipped) == {"module.on.aws_iam_role.this[0]": "pass"}
    assert any("module.zero" in s for s in skipped), skipped
    assert names(tmp_path / "main.tf") == {"module.on.aws_iam_role.this[0]": "pass"}


def test_count_from_a_nested_callers_argument(tmp_path: Path) -> None:
    """`create` passed down two levels of modules decides the innermost count."""
    write(
        tmp_path,
        **{
            "modules__role__main.tf": COUNTED_MODULE,
            "modules__wrap__main.tf": 'variable "enabled" {}\n'
            'module "inner" {\n  source  = "../role"\n  create  = var.enabled\n'
            '  subject = "repo:*"\n}\n',
            "main.tf": 'module "a" {\n  source  = "./modules/wrap"\n  enabled = false\n}\n'
            'module "b" {\n  source  = "./modules/wrap"\n  enabled = true\n}\n',
        },
    )
    assert names(tmp_path) == {"module.b.module.inner.aws_iam_role.this[0]": "fail"}


def test_the_only_risky_resource_at_count_zero_is_removed(tmp_path: Path) -> None:
    """Metamorphic: `count = 0` on the only risky role removes it; the rest is judged as before."""
    risky = role("wide", "repo:*")
    safe = role("narrow", PINNED)
    base = names(write(tmp_path / "base", **{"main.tf": safe + risky}))
    assert base == {"aws_iam_role.narrow": "pass", "aws_iam_role.wide": "fail"}
    off = write(
        tmp_path / "off", **{"main.tf": safe + role("wide", "repo:*", meta="  count = 0\n")}
    )
    skipped: list[str] = []
    assert names(off, skipped) == {"aws_iam_role.narrow": "pass"}
    assert [s for s in skipped if "aws_iam_role.wide" in s], skipped


def test_a_directory_whose_only_role_is_not_created_is_denied_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing is created, so nothing is verified: not "no trust configuration found" (exit 2, untrue),
    but one `error` result saying so (denied) and a notice naming what was skipped and why."""
    write(tmp_path, **{"main.tf": role("wide", "repo:*", meta="  count = 0\n")})
    skipped: list[str] = []
    assert load_configs([str(tmp_path)], skipped=skipped) == []
    assert load_configs([str(tmp_path / "main.tf")]) == []
    assert skipped == [f"skipped {tmp_path / 'main.tf'}#aws_iam_role.wide: not created (count = 0)"]
    run = run_cli(capsys, "check", "trust-policy", str(tmp_path), "--format", "json")
    assert run.code == 1
    report = json.loads(run.out)
    assert report["decision"]["allowed"] is False
    (result,) = report["results"]
    assert result["verdict"] == "error"
    assert "is created" in result["facts"]["error"]
    assert report["notices"] == skipped


@pytest.mark.parametrize(
    "meta",
    [
        "  count = 0\n",
        "  for_each = {}\n",
        "  count = local.on ? 1 : 0\n",
        '  for_each = local.on ? { a = "x" } : {}\n',
    ],
)
def test_a_count_zero_copy_changes_nothing(tmp_path: Path, meta: str) -> None:
    """Metamorphic: a copy of every judged role and module call, switched off, next to the originals."""
    files = {
        "modules__role__main.tf": COUNTED_MODULE,
        "locals.tf": "locals {\n  on = false\n}\n",
    }
    original = {"main.tf": role("a", PINNED) + role("b", "repo:acme/*") + module("m")}
    base = names(write(tmp_path / "base", **files, **original))
    assert base == {
        "aws_iam_role.a": "pass",
        "aws_iam_role.b": "warn-org",
        "module.m.aws_iam_role.this[0]": "pass",
    }
    copies = (
        role("a_off", "repo:*", meta)
        + role("b_off", "repo:*", meta)
        + module("m_off", meta, '  subject = "repo:*"\n')
    )
    with_copies = write(tmp_path / "copies", **files, **original, **{"off.tf": copies})
    assert names(with_copies) == base


# --- unknown: never removed -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "meta",
    [
        "  count = var.n\n",
        "  count = length(aws_subnet.x.ids)\n",
        "  count = var.create ? 1 : 0\n",
        '  count = var.env == "prod" ? 1 : 0\n',
        "  count = unknown_function(1)\n",
        "  for_each = var.open\n",
        '  for_each = var.create ? { a = "x" } : {}\n',
    ],
)
def test_an_unknown_count_never_removes_anything(tmp_path: Path, meta: str) -> None:
    """A count/for_each the text does not decide (no default, an attribute known after apply, an undecided
    conditional with a non-zero branch) renders the resource: it may exist."""
    variables = 'variable "n" {}\nvariable "create" {}\nvariable "env" {}\nvariable "open" {}\n'
    plain = names(write(tmp_path / "plain", **{"main.tf": variables + role("wide", "repo:*")}))
    counted = names(
        write(tmp_path / "counted", **{"main.tf": variables + role("wide", "repo:*", meta)})
    )
    assert list(plain.values()) == ["fail"]
    assert list(counted.values()) == ["fail"]


def test_an_undecided_create_in_the_caller_keeps_the_instance(tmp_path: Path) -> None:
    """`create = var.enabled` with no default: the instance may exist, judged with the caller's value."""
    write(
        tmp_path,
        **{
            "modules__role__main.tf": COUNTED_MODULE,
            "main.tf": 'variable "enabled" {}\n'
            + module("m", arguments='  create  = var.enabled\n  subject = "repo:*"\n'),
        },
    )
    assert names(tmp_path) == {"module.m.aws_iam_role.this[0]": "fail"}


def test_for_each_in_a_conditional_renders_the_instances_that_may_exist(tmp_path: Path) -> None:
    """`var.on ? {…} : {}` with `on` undecided: the instance exists in one rendering and is judged there
    (with its own key and value), never dropped because the other rendering is empty."""
    write(
        tmp_path,
        **{
            "modules__role__main.tf": COUNTED_MODULE,
            "main.tf": 'variable "on" {}\n'
            + module(
                "m",
                '  for_each = var.on ? { wide = "repo:*" } : {}\n',
                "  subject  = each.value\n",
            ),
        },
    )
    assert names(tmp_path) == {'module.m["wide"].aws_iam_role.this[0]': "fail"}


def test_a_module_only_its_callers_switch_off_is_not_judged_on_its_own(tmp_path: Path) -> None:
    """Walked as a whole, a module every caller switches off is not judged with its own defaults either
    (it is judged as called, and the call creates nothing)."""
    write(
        tmp_path,
        **{
            "modules__role__main.tf": COUNTED_MODULE,
            "main.tf": module("off", arguments="  create = false\n") + role("a", PINNED),
        },
    )
    assert names(tmp_path) == {"aws_iam_role.a": "pass"}


def test_unreadable_module_passed_trust_values_without_instances_is_a_notice(
    tmp_path: Path,
) -> None:
    """A registry module this reader cannot read is `unsupported` when passed trust-looking values; with
    `count = 0` it creates nothing, so it is a notice, not a denial. With an unknown count it still is."""
    call = 'module "gh" {{\n  source  = "acme/github-oidc/aws"\n{meta}  subjects = ["repo:*"]\n}}\n'
    write(tmp_path / "zero", **{"main.tf": call.format(meta="  count = 0\n") + role("a", PINNED)})
    skipped: list[str] = []
    assert names(tmp_path / "zero", skipped) == {"aws_iam_role.a": "pass"}
    assert [s for s in skipped if "module.gh: not created (count = 0)" in s], skipped
    write(
        tmp_path / "open",
        **{"main.tf": 'variable "n" {}\n' + call.format(meta="  count = var.n\n")},
    )
    assert names(tmp_path / "open") == {"module.gh": "unsupported"}


def test_resource_count_binds_count_index(tmp_path: Path) -> None:
    """A count the module decides is one configuration per index, named as plan JSON names them, with
    `count.index` bound (it stayed a template: indeterminate)."""
    subjects = 'locals {\n  subjects = ["repo:acme/app:ref:refs/heads/main", "repo:*"]\n}\n'
    write(
        tmp_path,
        **{"main.tf": subjects + role("r", "${local.subjects[count.index]}", meta="  count = 2\n")},
    )
    assert names(tmp_path) == {"aws_iam_role.r[0]": "pass", "aws_iam_role.r[1]": "fail"}


def test_document_only_a_switched_off_role_uses_is_not_judged_alone(tmp_path: Path) -> None:
    """The role is not created; its (uncounted) document is not a trust policy of its own."""
    document = COUNTED_MODULE.split('data "aws_iam_policy_document"')[1].split(
        'resource "aws_iam_role"'
    )[0]
    document = 'data "aws_iam_policy_document"' + document.replace("count = var.create ? 1 : 0", "")
    off = (
        'resource "aws_iam_role" "r" {\n  count              = 0\n'
        "  assume_role_policy = data.aws_iam_policy_document.this.json\n}\n"
    )
    variables = 'variable "subject" {\n  default = "repo:*"\n}\n'
    write(tmp_path, **{"main.tf": variables + document + off + role("a", PINNED)})
    assert names(tmp_path) == {"aws_iam_role.a": "pass"}
    on = off.replace("count              = 0", "count              = 1")
    write(tmp_path / "on", **{"main.tf": variables + document + on})
    assert names(tmp_path / "on") == {"aws_iam_role.r[0]": "fail"}


def test_a_conditional_count_judges_the_renderings_where_the_block_exists(tmp_path: Path) -> None:
    """`count = var.prod ? 1 : 0` with `prod` undecided: the role exists only where `prod` is true (then it
    is `r[0]`), so a conditional on `var.prod` in its body takes that branch (before: both branches, the one of a role
    Terraform does not create decided: fail). The same conditional outside the block, in a block without
    that count, or through a local (rendered once for the module) still renders both: fail closed."""
    pick = "${var.prod ? " + json.dumps(PINNED) + ' : "repo:*"}'
    counted = role("r", pick, meta="  count = var.prod ? 1 : 0\n")
    assert counted.count("var.prod") == 2
    write(tmp_path / "a", **{"main.tf": 'variable "prod" {}\n' + counted})
    assert names(tmp_path / "a") == {"aws_iam_role.r[0]": "pass"}
    inverted = role("r", pick, meta="  count = var.prod ? 0 : 1\n")
    write(tmp_path / "b", **{"main.tf": 'variable "prod" {}\n' + inverted})
    assert names(tmp_path / "b") == {"aws_iam_role.r[0]": "fail"}
    write(tmp_path / "c", **{"main.tf": 'variable "prod" {}\n' + counted + role("plain", pick)})
    assert names(tmp_path / "c") == {"aws_iam_role.r[0]": "pass", "aws_iam_role.plain": "fail"}
    via_local = role("r", "${local.s}", meta="  count = var.prod ? 1 : 0\n")
    local = "locals {\n  s = " + pick[2:-1] + "\n}\n"
    write(tmp_path / "d", **{"main.tf": 'variable "prod" {}\n' + local + via_local})
    assert names(tmp_path / "d") == {"aws_iam_role.r[0]": "fail"}


def test_a_conditional_module_count_renders_the_instance_where_it_exists(tmp_path: Path) -> None:
    """The module instance exists only where `prod` is true (then `count` is 1: `module.m[0]`): its
    arguments take that branch."""
    arguments = f'  subject = var.prod ? "{PINNED}" : "repo:*"\n'
    write(
        tmp_path,
        **{
            "modules__role__main.tf": COUNTED_MODULE,
            "main.tf": 'variable "prod" {}\n'
            + module("m", "  count = var.prod ? 1 : 0\n", arguments)
            + module("n", "", arguments),
        },
    )
    assert names(tmp_path) == {
        "module.m[0].aws_iam_role.this[0]": "pass",
        "module.n.aws_iam_role.this[0]": "fail",
    }


@pytest.mark.parametrize("meta", ["  count = 1\n", '  for_each = { a = "x" }\n'])
def test_admin_attachment_reaches_every_instance_of_a_role(tmp_path: Path, meta: str) -> None:
    """An attachment names the role without its index (`aws_iam_role.r[0].name`): every instance of the
    role has it (a `for_each` role's instances missed it: no `admin_permissions`)."""
    attachment = (
        'resource "aws_iam_role_policy_attachment" "admin" {\n'
        "  role       = aws_iam_role.r[0].name\n"
        '  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"\n}\n'
    )
    write(tmp_path, **{"main.tf": role("r", PINNED, meta) + attachment})
    configs = load_configs([str(tmp_path)])
    (result,) = check_all(configs)
    assert result.facts["admin_permissions"] == ["AdministratorAccess"]
