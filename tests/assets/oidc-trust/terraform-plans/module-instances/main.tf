locals {
  subjects = ["repo:acme/app:ref:refs/heads/main", "repo:acme/*"]
}
module "each" {
  source   = "./modules/oidc"
  for_each = { app = "repo:acme/app:environment:prod", org = "repo:acme/*" }
  subject  = each.value
}
module "counted" {
  source  = "./modules/oidc"
  count   = 2
  subject = local.subjects[count.index]
}
