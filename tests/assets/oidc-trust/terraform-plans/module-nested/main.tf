module "outer" {
  source = "./modules/wrap"
  org    = local.org
  strict = var.strict
}
