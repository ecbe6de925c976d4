"""What a decision writes: the decision log, the SLSA verification summary, the GitOps update."""
