variable "subjects" {
  default = ["repo:acme/app:ref:refs/heads/main"]
}
resource "aws_iam_role" "deploy" {
  name = "deploy"
  assume_role_policy = templatefile("${path.module}/trust.json.tftpl", {
    subjects = var.subjects
    audience = ""
  })
}
