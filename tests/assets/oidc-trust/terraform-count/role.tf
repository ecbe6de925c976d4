resource "aws_iam_openid_connect_provider" "gh" {
  count          = var.enabled ? 1 : 0
  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

resource "aws_iam_role" "deployer" {
  count              = var.enabled ? 1 : 0
  name               = "deployer"
  assume_role_policy = data.aws_iam_policy_document.trust[0].json
}

resource "aws_iam_role_policy_attachment" "deployer_admin" {
  count      = var.enabled ? 1 : 0
  role       = aws_iam_role.deployer[0].name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}
