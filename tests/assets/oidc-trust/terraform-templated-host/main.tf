locals {
  issuer_host = trimprefix(var.issuer_url, "https://")
}

# Principal and condition keys both built from a local: the keys still belong to the principal's provider.
data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = ["arn:aws:iam::${var.account_id}:oidc-provider/${local.issuer_host}"]
    }
    condition {
      test     = "StringLike"
      variable = "${local.issuer_host}:sub"
      values   = [for s in var.subjects : "repo:${trimprefix(s, "repo:")}"]
    }
    condition {
      test     = "StringLike"
      variable = "${local.issuer_host}:repository_owner_id"
      values   = ["1342004"]
    }
  }
}

resource "aws_iam_role" "ci" {
  assume_role_policy = data.aws_iam_policy_document.assume.json
}
