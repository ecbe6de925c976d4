variable "subjects" {
  type    = list(string)
  default = []
}
