module "ci" {
  source  = "./modules/oidc"
  subject = "repo:*"
}
module "defaults" {
  source = "./modules/oidc"
}
