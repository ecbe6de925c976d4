"""A walked file that carries an AWS trust policy in a format this reader does not render (a Crossplane
Role, a Pulumi YAML program) was dropped silently: a ``repo:*`` role there was never judged. It is now one
``unsupported`` configuration (denied by default) naming the file; a file that only mentions the issuer (prose,
test metadata) is still not a configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.checks.oidc_trust import check_all
from verifier.sources.trust_policy_files import load_configs

POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": '
    '"sts:AssumeRoleWithWebIdentity", "Principal": {"Federated": '
    '"arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"}, "Condition": {"StringLike": '
    '{"token.actions.githubusercontent.com:sub": "repo:*"}}}]}'
)
CROSSPLANE = f"""\
apiVersion: iam.aws.upbound.io/v1beta1
kind: Role
metadata:
  name: deploy
spec:
  forProvider:
    assumeRolePolicy: '{POLICY}'
"""
PULUMI = f"""\
name: infra
runtime: yaml
resources:
  deploy:
    type: aws:iam:Role
    properties:
      assumeRolePolicy: '{POLICY}'
"""
SAFE = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": '
    '"sts:AssumeRoleWithWebIdentity", "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/'
    'token.actions.githubusercontent.com"}, "Condition": {"StringEquals": {"token.actions.'
    'githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": '
    '"repo:acme/app:ref:refs/heads/main"}}}]}'
)


@pytest.mark.parametrize("text", [CROSSPLANE, PULUMI])
def test_a_trust_policy_in_an_unread_format_is_reported(tmp_path: Path, text: str) -> None:
    (tmp_path / "safe.json").write_text(SAFE)
    (tmp_path / "role.yaml").write_text(text)
    configs = load_configs([str(tmp_path)])
    verdicts = {
        Path(c.subject).name: r.verdict for c, r in zip(configs, check_all(configs), strict=True)
    }
    assert verdicts == {"role.yaml": "unsupported", "safe.json": "pass"}
    [unread] = [c for c in configs if c.subject.endswith("role.yaml")]
    assert "format is not one this reader renders" in str(unread.document)


def test_a_file_that_only_mentions_the_issuer_is_not_a_configuration(tmp_path: Path) -> None:
    (tmp_path / "safe.json").write_text(SAFE)
    (tmp_path / "notes.yaml").write_text(
        "issuer: see https://token.actions.githubusercontent.com\nclaims: [repository_owner, sub]\n"
    )
    configs = load_configs([str(tmp_path)])
    assert [Path(c.subject).name for c in configs] == ["safe.json"]
