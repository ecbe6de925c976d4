module "wide" {
  source   = "./modules/trust"
  subjects = ["repo:acme/app:ref:refs/heads/main", "repo:*"]
}
module "pinned" {
  source   = "./modules/trust"
  subjects = ["repo:acme/*"]
  extra    = { repository_id = "7" }
}
