"""Kubernetes admission: the AdmissionReview wire format (``review``) and the decider (``decider``)."""
