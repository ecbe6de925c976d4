"""Pieces of the oidc-trust evaluator: the CEL subset parser, regex anchoring, the lattice, indeterminate."""

from __future__ import annotations

import pytest

from verifier.checks.oidc_trust import TrustConfig, cel, check, worst_verdict
from verifier.checks.oidc_trust.gcp import _regex_to_glob
from verifier.checks.oidc_trust.model import BROKEN, NONE, Bind, all_of, any_of, bind


def test_cel_parses_the_subset() -> None:
    tree = cel.parse(
        "assertion.repository_owner_id == '42' && (assertion['ref'] in ['a', \"b\"] || "
        "!assertion.sub.startsWith('repo:x/'))"
    )
    assert isinstance(tree, cel.And)
    left, right = tree.items
    assert left == cel.Compare(
        "==", cel.Path(("assertion", "repository_owner_id")), cel.Literal("42", "string")
    )
    assert isinstance(right, cel.Or)
    assert right.items[0] == cel.Compare(
        "in",
        cel.Path(("assertion", "ref")),
        cel.ListLit((cel.Literal("a", "string"), cel.Literal("b", "string"))),
    )
    assert right.items[1] == cel.Not(
        cel.Call(cel.Path(("assertion", "sub")), "startsWith", (cel.Literal("repo:x/", "string"),))
    )


def test_cel_string_escapes() -> None:
    assert cel.parse(r"assertion.sub == 'it\'s'") == cel.Compare(
        "==", cel.Path(("assertion", "sub")), cel.Literal("it's", "string")
    )


@pytest.mark.parametrize(
    "bad",
    [
        "assertion.sub == 'x",
        "assertion.sub ==",
        "(a == 'b'",
        "a == 'b' ;",
        "",
        "a.b('x'",
        "a &&& b",
    ],
)
def test_cel_syntax_errors(bad: str) -> None:
    with pytest.raises(cel.CelSyntaxError):
        cel.parse(bad)


@pytest.mark.parametrize(
    ("rx", "glob"),
    [
        ("^repo:acme/app:ref:refs/heads/main$", "repo:acme/app:ref:refs/heads/main"),
        ("^repo:acme/.*", "repo:acme/*"),
        (r"^repo:acme\.io/app$", "repo:acme.io/app"),
        ("repo:acme/", "*repo:acme/"),
        ("^repo:acme/app$|^repo:evil/x$", "*repo:acme/app$|^repo:evil/x$"),
        ("^repo:acme", "repo:acme*"),
    ],
)
def test_regex_to_glob(rx: str, glob: str) -> None:
    assert _regex_to_glob(rx) == glob


def test_lattice_or_weakest_and_strongest() -> None:
    org = bind(owner=True)
    repo = bind(repo=True)
    full = bind(repo=True, ctx=True)
    assert any_of([full, org]) == org
    assert any_of([full, BROKEN]) == full
    assert any_of([BROKEN, BROKEN]).broken
    assert all_of([org, Bind(ctx=True), repo]).verdict().value == "pass"
    assert all_of([full, BROKEN]).broken
    assert any_of([]) == NONE
    assert repo.owner  # a pinned repository pins its owner


def test_worst_verdict_order() -> None:
    assert worst_verdict(["pass", "warn-ref", "broken"]) == "warn-ref"
    assert worst_verdict(["indeterminate", "warn-org"]) == "warn-org"
    assert worst_verdict(["indeterminate", "warn-ref"]) == "indeterminate"
    assert worst_verdict(["fail", "warn-org"]) == "fail"
    assert worst_verdict([]) == "pass"


def _aws(condition: dict[str, object]) -> TrustConfig:
    doc = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Principal": {
                    "Federated": "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"
                },
                "Condition": condition,
            }
        ]
    }
    return TrustConfig(provider="aws", subject="p.json", path="p.json", document=doc)


def test_indeterminate_gives_both_readings() -> None:
    result = check(
        _aws({"StringEquals": {"token.actions.githubusercontent.com:sub": "${var.sub}"}})
    )
    assert result.verdict == "indeterminate"
    assert result.facts["verdict_if_narrow"] == "pass"
    assert result.facts["verdict_if_broad"] == "fail"
    # what only the broad guess implies (no owner pinned) is not reported as a fact
    assert "sub-missing" not in [f.rule for f in result.findings]


def test_template_context_decides_only_the_ref() -> None:
    result = check(
        _aws(
            {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/app:${var.ctx}"}}
        )
    )
    assert result.verdict == "indeterminate"
    assert (result.facts["verdict_if_narrow"], result.facts["verdict_if_broad"]) == (
        "pass",
        "warn-ref",
    )


def test_facts_list_what_is_admitted() -> None:
    result = check(
        _aws(
            {
                "StringLike": {
                    "token.actions.githubusercontent.com:sub": ["repo:acme/a:*", "repo:acme/b:*"]
                }
            }
        )
    )
    assert result.facts["statements"][0]["sub"] == ["repo:acme/a:*", "repo:acme/b:*"]
    assert result.facts["provider"] == "aws"
    assert result.facts["reason"].startswith("sub pattern")


def test_admits_fact_lists_positive_identity_tests() -> None:
    result = check(
        _aws(
            {
                "StringEquals": {"token.actions.githubusercontent.com:repository_id": "7"},
                "StringNotLike": {
                    "token.actions.githubusercontent.com:sub": "repo:x/y:pull_request"
                },
                "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/app:*"},
            }
        )
    )
    assert result.facts["admits"] == [
        "repository_id stringequals 7",
        "sub stringlike repo:acme/app:*",
    ]
