variable "org" {}
variable "strict" {
  default = true
}
module "inner" {
  source  = "../oidc"
  subject = var.strict ? "repo:${var.org}/app:ref:refs/heads/main" : "repo:${var.org}/*"
}
