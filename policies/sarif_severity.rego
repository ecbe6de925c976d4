# sarif-severity: deny when a scanner report has unwaived findings at a fail-on severity.
# Counts come from the check's facts (unwaived findings per severity), so the decision costs the same
# for ten findings or fifty thousand.
package verifier

sarif_defaults := {"fail_on": ["critical", "high"], "deny_ids": [], "warn_degraded": true}

deny contains msg if {
	some result in input.results
	result.check == "sarif-severity"
	cfg := check_config("sarif-severity", sarif_defaults)
	some severity in cfg.fail_on
	n := object.get(result.facts.unwaived, severity, 0)
	n > 0
	msg := sprintf("%s: %d unwaived %s finding(s) (fail-on: %s)", [result.subject, n, severity, concat(",", cfg.fail_on)])
}

# Specific ids denied whatever their severity (e.g. a known-exploited CVE), unless waived.
deny contains msg if {
	some result in input.results
	result.check == "sarif-severity"
	cfg := check_config("sarif-severity", sarif_defaults)
	count(cfg.deny_ids) > 0
	some finding in result.findings
	not finding.waived
	finding.rule in cfg.deny_ids
	msg := sprintf("%s: %s is on the deny list", [result.subject, finding.rule])
}

warn contains msg if {
	some result in input.results
	result.check == "sarif-severity"
	cfg := check_config("sarif-severity", sarif_defaults)
	cfg.warn_degraded
	result.facts.degraded > 0
	msg := sprintf("%s: severity of %d finding(s) inferred from a CVSS score or SARIF level, not the scanner's severity", [result.subject, result.facts.degraded])
}

warn contains msg if {
	some result in input.results
	result.check == "sarif-severity"
	result.facts.waived > 0
	msg := sprintf("%s: %d finding(s) waived (ignore file, VEX or --ignore-unfixed)", [result.subject, result.facts.waived])
}

warn contains msg if {
	cfg := object.get(input.config, "sarif-severity", {})
	some problem in object.get(cfg, "ignore_file_problems", [])
	msg := sprintf("ignore file: %s", [problem])
}

# The decision reads the per-severity counts; a result without them must not pass for want of counts.
deny contains msg if {
	some result in input.results
	result.check == "sarif-severity"
	not sarif_has_counts(result)
	msg := sprintf("%s: sarif-severity result has no per-severity counts (facts.unwaived)", [result.subject])
}

# A rule, not `not is_object(...)` inline: OPA and regorus disagree on a negated builtin over an undefined
# reference (the cross-engine test caught it); negating a rule is defined the same way on both.
sarif_has_counts(result) if is_object(result.facts.unwaived)
