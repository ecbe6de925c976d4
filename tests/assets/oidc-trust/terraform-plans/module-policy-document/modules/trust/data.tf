data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = ["arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"]
    }
    condition {
      test     = "StringLike"
      variable = "token.actions.githubusercontent.com:sub"
      values   = var.subjects
    }
    dynamic "condition" {
      for_each = var.extra
      content {
        test     = "StringEquals"
        variable = "token.actions.githubusercontent.com:${condition.key}"
        values   = [condition.value]
      }
    }
  }
}
