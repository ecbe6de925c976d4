locals {
  sub = "repo:acme/app:environment:prod"
}
