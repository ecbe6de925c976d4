# Shaped like terraform-aws-modules/iam's iam-role: every block counted on var.create.
variable "create" {
  type    = bool
  default = true
}
variable "subject" {
  type    = string
  default = "repo:acme/app:ref:refs/heads/main"
}
data "aws_iam_policy_document" "this" {
  count = var.create ? 1 : 0
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = ["arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"]
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
  name               = "counted"
  assume_role_policy = data.aws_iam_policy_document.this[0].json
}
resource "aws_iam_role" "keyed" {
  for_each           = var.create ? { main = var.subject } : {}
  name               = "keyed-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.this[0].json
}
