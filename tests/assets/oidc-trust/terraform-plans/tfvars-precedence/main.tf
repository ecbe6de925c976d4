# The role's subjects come from variables whose values the .tfvars files next to this module set:
# terraform.tfvars first, then every *.auto.tfvars in lexical order, each replacing what came before.
variable "subject" {
  type    = string
  default = "repo:acme/app:ref:refs/heads/main"
}

variable "pr_subject" {
  type = string
}

variable "extra_subjects" {
  type    = list(string)
  default = []
}

data "aws_iam_policy_document" "trust" {
  statement {
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
      values   = concat([var.subject, var.pr_subject], var.extra_subjects)
    }
  }
}

resource "aws_iam_role" "deploy" {
  name               = "deploy"
  assume_role_policy = data.aws_iam_policy_document.trust.json
}
