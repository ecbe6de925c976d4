variable "subjects" {
  default = ["repo:acme/app:ref:refs/heads/main"]
}
variable "extra" {
  default = {}
}
