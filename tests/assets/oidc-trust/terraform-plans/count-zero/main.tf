# Module instances and resources Terraform does not create next to ones it does.
locals {
  on = true
}
variable "regions" {
  type    = list(string)
  default = []
}
module "on" {
  source   = "./modules/role"
  for_each = local.on ? { app = "repo:acme/app:ref:refs/heads/main" } : {}
  subject  = each.value
}
module "off" {
  source  = "./modules/role"
  create  = false
  subject = "repo:*"
}
module "zero" {
  source  = "./modules/role"
  count   = 0
  subject = "repo:*"
}
module "none" {
  source   = "./modules/role"
  for_each = toset(var.regions)
  subject  = "repo:*"
}
