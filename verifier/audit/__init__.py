"""Audit many repositories, trust policies, images and decision records into one report.

:mod:`verifier.audit.plan` turns inputs into units and audits each; :mod:`verifier.audit.report` aggregates.
"""
