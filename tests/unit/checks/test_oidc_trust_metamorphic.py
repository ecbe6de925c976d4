"""Metamorphic properties of oidc-trust (issue 15): relations between inputs whose verdicts must relate.

* Adding an Allow statement (AWS), a binding (GCP) or a credential value can never make a verdict better.
* Reordering statements or condition keys never changes a verdict.
* A file gives the same verdict named, walked in a directory, or next to other files.

"Better" is the order the check combines trust paths with (``BREADTH``: broken < pass < warn-ref <
indeterminate < warn-org < unsupported < fail). Statements are generated from a vocabulary of real
condition shapes (exact and glob subs, wildcard owners, custom templates, id keys, templates, keys of
another issuer, IfExists and set operators).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verifier.checks.oidc_trust import check
from verifier.checks.oidc_trust.model import BREADTH, TrustVerdict
from verifier.models.trust import TrustConfig
from verifier.sources.trust_policy_files import load_configs

HOST = "token.actions.githubusercontent.com"
PRINCIPAL = {"Federated": f"arn:aws:iam::1:oidc-provider/{HOST}"}
SUBS = [
    "repo:acme/app:ref:refs/heads/main",
    "repo:acme/app:*",
    "repo:acme/*",
    "repo:acme*",
    "repo:*",
    "repo:*:ref:refs/heads/main",
    "repo:*/app:environment:prod",
    "repo:acme/app:pull_request",
    "repo:acme/app:ref:refs/tags/v*",
    "environment:prod",
    "job_workflow_ref:acme/wf/.github/workflows/d.yml@refs/heads/main",
    "${var.subject}",
    "repo:${var.org}/app:ref:refs/heads/main",
    "repo:acme/app",
    "*",
]
KEYS = {
    "sub": SUBS,
    "repository_id": ["7", "*", "${var.repo_id}"],
    "repository_owner_id": ["42", "4*"],
    "ref": ["refs/heads/main", "refs/tags/v*", "refs/heads/*"],
    "environment": ["prod"],
    "job_workflow_ref": ["acme/wf/.github/workflows/d.yml@refs/heads/main", "acme/*"],
    "aud": ["sts.amazonaws.com"],
}
OPERATORS = [
    "StringEquals",
    "StringLike",
    "StringEqualsIfExists",
    "ForAnyValue:StringLike",
    "ForAllValues:StringEquals",
    "StringNotLike",
]


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    condition: dict[str, dict[str, Any]] = {}
    for _ in range(draw(st.integers(0, 3))):
        claim = draw(st.sampled_from(sorted(KEYS)))
        operator = draw(st.sampled_from(OPERATORS))
        host = draw(st.sampled_from([HOST, HOST, HOST, f"{HOST}/acme-ent"]))
        values = draw(st.lists(st.sampled_from(KEYS[claim]), min_size=1, max_size=2))
        condition.setdefault(operator, {})[f"{host}:{claim}"] = values
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": PRINCIPAL,
        "Action": draw(st.sampled_from(["sts:AssumeRoleWithWebIdentity", "sts:*", "*"])),
    }
    if condition:
        statement["Condition"] = condition
    return statement


def verdict(doc: dict[str, Any]) -> TrustVerdict:
    config = TrustConfig(provider="aws", subject="p.json", path="p.json", document=doc)
    return TrustVerdict(check(config).verdict)


SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(st.lists(statements(), min_size=1, max_size=3), statements())
def test_adding_a_statement_never_makes_the_verdict_better(
    base: list[dict[str, Any]], extra: dict[str, Any]
) -> None:
    before = verdict({"Statement": base})
    after = verdict({"Statement": [*base, extra]})
    assert BREADTH[after] >= BREADTH[before], (before, after, base, extra)


@SETTINGS
@given(st.lists(statements(), min_size=2, max_size=4), st.randoms(use_true_random=False))
def test_reordering_statements_and_keys_never_changes_the_verdict(
    items: list[dict[str, Any]], rng: Any
) -> None:
    shuffled = []
    for stmt in items:
        copy = dict(stmt)
        if "Condition" in copy:
            operators = list(copy["Condition"].items())
            rng.shuffle(operators)
            copy["Condition"] = {op: dict(reversed(list(block.items()))) for op, block in operators}
        shuffled.append(copy)
    rng.shuffle(shuffled)
    assert verdict({"Statement": items}) == verdict({"Statement": shuffled})


GCP_CONDITIONS = [
    "assertion.repository_owner_id == '42'",
    "assertion.repository_owner_id == '42' && assertion.repository_id == '7'",
    "assertion.repository.startsWith('acme/')",
    "assertion.repository_owner == 'acme' ? true : assertion.repository_id == '7'",
    "assertion.sub.matches('^repo:acme/app:')",
]
MEMBERS = [
    "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/*",
    "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/attribute.repository/acme/app",
    "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/attribute.repository_owner_id/42",
    "principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/subject/repo:acme/app:ref:refs/heads/main",
    "user:someone@example.com",
]


@SETTINGS
@given(
    st.sampled_from(GCP_CONDITIONS),
    st.lists(st.sampled_from(MEMBERS), max_size=3),
    st.sampled_from(MEMBERS),
)
def test_adding_a_gcp_binding_never_makes_the_verdict_better(
    condition: str, members: list[str], extra: str
) -> None:
    def gcp(bindings: list[str]) -> TrustVerdict:
        doc = {
            "issuer_uri": "https://token.actions.githubusercontent.com",
            "attribute_mapping": {
                "google.subject": "assertion.sub",
                "attribute.repository": "assertion.repository",
                "attribute.repository_owner_id": "assertion.repository_owner_id",
            },
            "attribute_condition": condition,
            "bindings": [{"member": m} for m in bindings],
        }
        config = TrustConfig(provider="gcp", subject="g.json", path="g.json", document=doc)
        return TrustVerdict(check(config).verdict)

    assert BREADTH[gcp([*members, extra])] >= BREADTH[gcp(members)]


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(st.lists(statements(), min_size=1, max_size=2), min_size=1, max_size=4))
def test_walking_a_directory_gives_the_verdicts_of_naming_each_file(
    documents: list[list[dict[str, Any]]],
) -> None:
    with tempfile.TemporaryDirectory(prefix="trust-walk-") as tmp:
        paths = []
        for index, stmts in enumerate(documents):
            path = Path(tmp) / f"role{index}.json"
            path.write_text(json.dumps({"Statement": stmts}), encoding="utf-8")
            paths.append(str(path))
        named = {c.subject: check(c).verdict for p in paths for c in load_configs([p])}
        together = {c.subject: check(c).verdict for c in load_configs(paths)}
        walked = {c.subject: check(c).verdict for c in load_configs([tmp])}
    assert named == together == walked
