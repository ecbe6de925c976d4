subject    = "repo:*"
pr_subject = "repo:acme/app:pull_request"
