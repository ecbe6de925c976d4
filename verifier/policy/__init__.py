"""The policy layer: the Rego input document and the engines that evaluate the bundle."""
