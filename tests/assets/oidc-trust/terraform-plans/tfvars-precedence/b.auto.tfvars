extra_subjects = ["repo:acme/*"]
