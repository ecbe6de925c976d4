"""Text after a glob wildcard in a ``sub`` pattern pins nothing (issue 15 leftover, tfmod).

In ``StringLike`` a ``*`` spans ':' and '/', and a repository's custom sub template (``include_claim_keys``)
can end in the ``workflow`` claim, whose value is the workflow's ``name:``: free text chosen by whoever pushes
the workflow file. So a pattern ``PREFIX*SUFFIX`` admits every token whose sub starts with PREFIX, whatever
SUFFIX says. The first test is the proof behind the changed case verdicts: for each, a token of another
repository (or from another ref) that satisfies every key of the condition. The others are metamorphic.
"""

from __future__ import annotations

import re

import pytest

from verifier.checks.oidc_trust import TrustConfig, check

GITHUB = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
KEY = "token.actions.githubusercontent.com:"


def string_like(pattern: str, value: str) -> bool:
    """IAM ``StringLike``: ``*`` is any run of characters (':' and '/' included), ``?`` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def custom_sub(claims: dict[str, str], keys: list[str]) -> str:
    """A sub built from a custom template: ``key:value`` pairs joined with ':' (``context`` unprefixed)."""
    return ":".join(claims[k] if k == "context" else f"{k}:{claims[k]}" for k in keys)


def verdict(condition: dict[str, dict[str, str]]) -> str:
    doc = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": GITHUB},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": condition,
            }
        ]
    }
    config = TrustConfig(provider="aws", subject="t.json", path="t.json", document=doc)
    return check(config).verdict


# (sub pattern, other keys, the attacker's claims, their repository's template, verdict the check gives)
ATTACKS = [
    (
        "repo:*/app:ref:refs/heads/main",
        {"repository_owner_id": "42"},
        {
            "repo": "acme/other",
            "repository_owner_id": "42",
            "workflow": "x/app:ref:refs/heads/main",
        },
        ["repo", "workflow"],
        "warn-org",
    ),
    (
        "repo:*@123/app@*:environment:prod",
        {"repository_owner_id": "123"},
        {
            "repo": "acme@123/other@9",
            "repository_owner_id": "123",
            "workflow": "x@123/app@1:environment:prod",
        },
        ["repo", "workflow"],
        "warn-org",
    ),
    (
        "repo:*:ref:refs/heads/main",
        {"repository_id": "7"},
        {"repo": "acme/app", "repository_id": "7", "workflow": "x:ref:refs/heads/main"},
        ["repo", "workflow"],
        "warn-ref",
    ),
    (
        "repo:acme/*:ref:refs/heads/main",
        {"repository_id": "7"},
        {"repo": "acme/app", "repository_id": "7", "workflow": "x:ref:refs/heads/main"},
        ["repo", "workflow"],
        "warn-ref",
    ),
    (
        "repo:acme/*:environment:prod",
        {"repository_id": "7"},
        {"repo": "acme/app", "repository_id": "7", "workflow": "x:environment:prod"},
        ["repo", "workflow"],
        "warn-ref",
    ),
]


@pytest.mark.parametrize("pattern, keys, claims, template, expected", ATTACKS)
def test_a_token_the_pattern_was_said_to_exclude_matches(
    pattern: str,
    keys: dict[str, str],
    claims: dict[str, str],
    template: list[str],
    expected: str,
) -> None:
    sub = custom_sub(claims, template)
    # The attacker's token satisfies every key: the sub pattern and the other (exact) keys.
    assert string_like(pattern, sub), sub
    assert all(claims[k] == v for k, v in keys.items())
    # ...and the ref, environment or repository name the pattern seems to pin came from the workflow's
    # name: the token carries no context claim, and its repository is not named app.
    assert "context" not in template
    assert claims["repo"].split("/")[1].split("@")[0] != "app" or "/app" not in pattern
    condition = {
        "StringEquals": {KEY + k: v for k, v in keys.items()},
        "StringLike": {KEY + "sub": pattern},
    }
    assert verdict(condition) == expected


SUFFIXES = [
    "",
    ":ref:refs/heads/main",
    ":environment:prod",
    "/app:ref:refs/heads/main",
    "@1/app@2:environment:prod",
    ":job_workflow_ref:acme/wf/.github/workflows/d.yml@refs/heads/main",
]
PREFIXES = ["repo:*", "repo:acme/*", "*", "repo:acme/app-*"]
OTHER_KEYS = [{}, {"repository_id": "7"}, {"repository_owner_id": "42"}]


@pytest.mark.parametrize("keys", OTHER_KEYS, ids=["alone", "repository_id", "owner_id"])
@pytest.mark.parametrize("prefix", PREFIXES)
def test_text_after_a_wildcard_never_changes_the_verdict(prefix: str, keys: dict[str, str]) -> None:
    """Metamorphic: ``P*`` and ``P*S`` admit a superset of each other's tokens under custom templates, so
    they get one verdict."""
    seen = set()
    for suffix in SUFFIXES:
        condition: dict[str, dict[str, str]] = {"StringLike": {KEY + "sub": prefix + suffix}}
        if keys:
            condition["StringEquals"] = {KEY + k: v for k, v in keys.items()}
        seen.add(verdict(condition))
    assert len(seen) == 1, seen


def test_literal_prefix_before_the_wildcard_still_pins() -> None:
    """What comes before the first wildcard is literal and anchored: it keeps pinning."""
    assert (
        verdict({"StringLike": {KEY + "sub": "repo:acme/app:ref:refs/heads/release/*"}}) == "pass"
    )
    assert verdict({"StringLike": {KEY + "sub": "repo:acme/app:*"}}) == "warn-ref"
    assert verdict({"StringLike": {KEY + "sub": "repo:acme/*"}}) == "warn-org"
