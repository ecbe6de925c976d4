variable "strict" {
  default = false
}
locals {
  org = "acme"
}
