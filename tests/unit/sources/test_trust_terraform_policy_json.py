"""``source_json`` / ``override_json`` of ``data "aws_iam_policy_document"`` (the AWS provider's forms before
v5): merged by ``sid`` like ``source_policy_documents`` / ``override_policy_documents``. Before, they were
ignored, so an ``override_json`` statement admitting ``repo:*`` under a pinned statement's ``sid`` passed."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.checks.oidc_trust import check_all
from verifier.sources.trust_policy_files import load_configs

WIDE = """jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "%s"
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = { Federated = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com" }
      Condition = {
        StringEquals = { "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com" }
        StringLike   = { "token.actions.githubusercontent.com:sub" = "repo:*" }
      }
    }]
  })"""
MODULE = """\
data "aws_iam_policy_document" "trust" {
  %s = %s
  statement {
    sid     = "gh"
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = ["arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:acme/app:ref:refs/heads/main"]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "deploy" {
  name               = "deploy"
  assume_role_policy = data.aws_iam_policy_document.trust.json
}
"""


@pytest.mark.parametrize(
    ("argument", "sid", "expected"),
    [
        ("override_json", "gh", "fail"),  # replaces the pinned statement
        ("override_json", "other", "fail"),  # added beside it
        ("source_json", "gh", "pass"),  # the document's own statement replaces it
        ("source_json", "other", "fail"),  # kept beside it
    ],
)
def test_single_document_forms_are_merged_by_sid(
    tmp_path: Path, argument: str, sid: str, expected: str
) -> None:
    (tmp_path / "main.tf").write_text(MODULE % (argument, WIDE % sid))
    configs = load_configs([str(tmp_path)])
    [result] = check_all(configs)
    assert result.verdict == expected
