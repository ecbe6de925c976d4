"""Bounded fuzzing of every trust-policy reader through the CLI, in process (issue 15).

Each reader gets real seed files (the corpus and the hand-written inputs) mutated by hypothesis: chunks
deleted, duplicated or replaced by tokens of the format, values swapped for generated JSON. Every run of
``verifier check trust-policy`` must end with exit 0, 1 or 2 and never print a traceback. The example
counts are fixed and the generation derandomised, so the test is bounded (well under a minute) and stable;
raise ``TRUST_FUZZ_EXAMPLES`` to fuzz longer by hand.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli import run_cli
from tests.unit.checks.test_oidc_trust_cel import mutated as cel_expressions

ASSETS = Path(__file__).resolve().parents[2] / "assets"
TRUST = ASSETS / "oidc-trust"
CORPUS = ASSETS / "upstream" / "trust-policies"
EXAMPLES = int(os.environ.get("TRUST_FUZZ_EXAMPLES", "30"))

SEEDS = {
    "aws-json": (CORPUS / "aws" / "github__docs__oidc-in-aws__branch.json", ".json"),
    "get-role": (TRUST / "inputs" / "list-roles.json", ".json"),
    "cfn-yaml": (TRUST / "inputs" / "cfn-roles.yaml", ".yaml"),
    "cfn-json": (TRUST / "inputs" / "cdk.template.json", ".json"),
    "hcl": (TRUST / "terraform" / "main.tf", ".tf"),
    "tf-json": (TRUST / "terraform-json" / "main.tf.json", ".tf.json"),
    "plan": (TRUST / "inputs" / "plan.json", ".json"),
    "gcp": (CORPUS / "gcp" / "google-github-actions__auth__README__gcloud-provider.json", ".json"),
    "gcloud-yaml": (TRUST / "inputs" / "gcloud-describe.yaml", ".yaml"),
    "azure": (TRUST / "inputs" / "azure-list.json", ".json"),
}
TOKENS = {
    ".json": [
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        '"',
        '"${var.x}"',
        '"*"',
        "null",
        '{"Ref": "X"}',
        "1e999",
    ],
    ".yaml": [
        "!Ref X",
        "!If [C, a, b]",
        "!FindInMap [M, a, b]",
        "- ",
        ": ",
        "\n  ",
        "'",
        "*",
        "&a",
        "*a",
    ],
    ".tf": [
        "${",
        "}",
        "{",
        "[",
        "]",
        '"',
        'dynamic "x" {',
        "for x in",
        "? :",
        "<<EOF\n",
        "#",
        "/*",
    ],
    ".tf.json": ["{", "}", '"dynamic"', '"${local.s}"', '"content"', "[", "]", ","],
}
# capsys is reused across examples: run_cli drains it before each run.
HEALTH = [
    HealthCheck.too_slow,
    HealthCheck.filter_too_much,
    HealthCheck.data_too_large,
    HealthCheck.function_scoped_fixture,
]


def assert_clean_run(capsys: pytest.CaptureFixture[str], text: str, suffix: str) -> None:
    with tempfile.TemporaryDirectory(prefix="trust-fuzz-") as tmp:
        path = Path(tmp) / f"input{suffix}"
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        run = run_cli(capsys, "check", "trust-policy", str(path))
    assert run.code in (0, 1, 2), (run, text[:300])
    assert "Traceback" not in run.out + run.err, (run.err[-800:], text[:300])


@st.composite
def mutated_seed(draw: st.DrawFn, name: str) -> tuple[str, str]:
    seed, suffix = SEEDS[name]
    text = seed.read_text(encoding="utf-8")
    tokens = TOKENS.get(suffix, TOKENS[".json"])
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        at = draw(st.integers(0, len(text) - 1))
        size = draw(st.integers(0, 40))
        how = draw(st.sampled_from(["delete", "duplicate", "token", "text"]))
        if how == "delete":
            text = text[:at] + text[at + size :]
        elif how == "duplicate":
            text = text[: at + size] + text[at : at + size] + text[at + size :]
        elif how == "token":
            text = text[:at] + draw(st.sampled_from(tokens)) + text[at:]
        else:
            text = text[:at] + draw(st.text(max_size=8)) + text[at:]
    return text, suffix


@pytest.mark.parametrize("reader", sorted(SEEDS))
def test_mutated_inputs_exit_0_1_or_2(reader: str, capsys: pytest.CaptureFixture[str]) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=HEALTH)
    @given(mutated_seed(reader))
    def run(case: tuple[str, str]) -> None:
        assert_clean_run(capsys, *case)

    run()


JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-3, 3),
        st.sampled_from(
            [
                "*",
                "repo:*",
                "repo:acme/app:ref:refs/heads/main",
                "${var.x}",
                "sts:AssumeRoleWithWebIdentity",
                "token.actions.githubusercontent.com:sub",
                "https://token.actions.githubusercontent.com",
                "assertion.sub == 'x'",
                "Allow",
                "",
            ]
        ),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "Statement",
                    "Effect",
                    "Principal",
                    "Federated",
                    "Action",
                    "NotAction",
                    "Condition",
                    "StringLike",
                    "Fn::If",
                    "Ref",
                    "Fn::Sub",
                    "issuer",
                    "subject",
                    "claimsMatchingExpression",
                    "issuer_uri",
                    "attribute_condition",
                    "bindings",
                    "Resources",
                    "Type",
                    "Properties",
                    "AssumeRolePolicyDocument",
                ]
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=20,
)


@settings(max_examples=EXAMPLES * 3, deadline=None, derandomize=True, suppress_health_check=HEALTH)
@given(value=JSON_VALUES)
def test_generated_documents_exit_0_1_or_2(
    capsys: pytest.CaptureFixture[str], value: object
) -> None:
    assert_clean_run(capsys, json.dumps(value), ".json")


@settings(max_examples=EXAMPLES * 3, deadline=None, derandomize=True, suppress_health_check=HEALTH)
@given(expression=cel_expressions(), provider=st.sampled_from(["gcp", "azure"]))
def test_generated_cel_conditions_exit_0_1_or_2(
    capsys: pytest.CaptureFixture[str], expression: str, provider: str
) -> None:
    if provider == "gcp":
        doc: dict[str, object] = {
            "issuer_uri": "https://token.actions.githubusercontent.com",
            "attribute_condition": expression,
        }
    else:
        doc = {
            "issuer": "https://token.actions.githubusercontent.com",
            "claimsMatchingExpression": {"value": expression},
        }
    assert_clean_run(capsys, json.dumps(doc), ".json")


MODULE_TREE = {
    "main.tf": 'variable "s" {\n  default = "repo:acme/*"\n}\n'
    'module "ci" {\n  source   = "./m"\n  for_each = toset(["a", "b"])\n'
    '  subject  = "${var.s}${each.key}"\n  strict   = var.strict\n}\n',
    "m/main.tf": 'variable "subject" {}\nvariable "strict" {}\n'
    'resource "aws_iam_role" "r" {\n'
    '  assume_role_policy = templatefile("${path.module}/t.tftpl", '
    '{ subject = var.subject, strict = var.strict, subs = [var.subject, "x"] })\n}\n',
    "m/t.tftpl": '{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",'
    ' "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"},'
    ' "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": ['
    '%{ for i, s in subs ~}"${s}"%{ if i < length(subs) - 1 },%{ endif }%{ endfor ~}'
    '%{ if !strict }, "repo:*"%{ endif }]}}}]}\n',
}
TREE_TOKENS = [
    "%{",
    "%{ if x }",
    "%{ else }",
    "%{ endif }",
    "%{ for a in b }",
    "%{ endfor }",
    "~}",
    "${",
    "}",
    '"',
    'module "x" {\n source = "./m"\n}\n',
    'source = "../"',
    'source = "./m"',
    "count = 3",
    'file("../../etc/passwd")',
    'templatefile("t.tftpl", {})',
]


@st.composite
def mutated_tree(draw: st.DrawFn) -> dict[str, str]:
    files = dict(MODULE_TREE)
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(sorted(files)))
        text = files[name]
        at = draw(st.integers(0, len(text)))
        how = draw(st.sampled_from(["delete", "token", "text"]))
        if how == "delete":
            text = text[:at] + text[at + draw(st.integers(0, 30)) :]
        elif how == "token":
            text = text[:at] + draw(st.sampled_from(TREE_TOKENS)) + text[at:]
        else:
            text = text[:at] + draw(st.text(max_size=8)) + text[at:]
        files[name] = text
    return files


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=HEALTH)
@given(files=mutated_tree())
def test_mutated_module_trees_exit_0_1_or_2(
    capsys: pytest.CaptureFixture[str], files: dict[str, str]
) -> None:
    """A caller, its child module and the child's template file, each mutated; walked and named."""
    with tempfile.TemporaryDirectory(prefix="trust-fuzz-") as tmp:
        for name, text in files.items():
            (Path(tmp) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / name).write_text(text, encoding="utf-8", errors="surrogateescape")
        for target in (tmp, str(Path(tmp) / "main.tf")):
            run = run_cli(capsys, "check", "trust-policy", target)
            assert run.code in (0, 1, 2), (run, files)
            assert "Traceback" not in run.out + run.err, (run.err[-800:], files)
