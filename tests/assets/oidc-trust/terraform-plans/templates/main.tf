resource "aws_iam_role" "templated" {
  name = "templated"
  assume_role_policy = templatefile("${path.module}/trust.json.tftpl", {
    subjects = ["repo:acme/app:ref:refs/heads/main", "repo:acme/lib:ref:refs/heads/main"]
    audience = "sts.amazonaws.com"
  })
}
resource "aws_iam_role" "from_file" {
  name = "from_file"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = { Federated = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com" }
      Condition = { StringLike = { "token.actions.githubusercontent.com:sub" = file("${path.module}/sub.txt") } }
    }]
  })
}
module "child" {
  source   = "./modules/oidc"
  subjects = ["repo:*"]
}
