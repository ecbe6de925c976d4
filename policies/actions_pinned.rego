# actions-pinned: deny unwaived `uses:` / image findings of the rules in `deny_rules`, warn on `warn_rules`.
# The pin policy (hash-pin / ref-pin / any per owner/repo pattern) is applied by the check, which reads the
# same config object (`policy:`); this file decides what its findings mean for the release.
# A file that could not be read or parsed has verdict "error" and is denied by verifier.rego.
package verifier

actions_pinned_defaults := {
	"deny_rules": ["unpinned-uses", "invalid-uses", "unpinned-image"],
	"warn_rules": ["noncanonical-sha", "local-action-checkout"],
	# "deny" (default) or "warn": a rollout mode that reports deny_rules findings as warnings only.
	"mode": "deny",
	"warn_waived": true,
}

actions_pinned_message(result, finding) := sprintf("%s:%d:%d: %s: %s", [
	finding.location.path, finding.location.line, finding.location.column, finding.rule, finding.message,
]) if {
	finding.location.line != null
	finding.location.column != null
} else := sprintf("%s: %s: %s", [result.subject, finding.rule, finding.message])

actions_pinned_unwaived(rules) := {[result, finding] |
	some result in input.results
	result.check == "actions-pinned"
	some finding in result.findings
	not finding.waived
	finding.rule in rules
}

deny contains actions_pinned_message(pair[0], pair[1]) if {
	cfg := check_config("actions-pinned", actions_pinned_defaults)
	cfg.mode == "deny"
	some pair in actions_pinned_unwaived(cfg.deny_rules)
}

warn contains actions_pinned_message(pair[0], pair[1]) if {
	cfg := check_config("actions-pinned", actions_pinned_defaults)
	cfg.mode == "warn"
	some pair in actions_pinned_unwaived(cfg.deny_rules)
}

warn contains actions_pinned_message(pair[0], pair[1]) if {
	cfg := check_config("actions-pinned", actions_pinned_defaults)
	some pair in actions_pinned_unwaived(cfg.warn_rules)
	not pair[1].rule in cfg.deny_rules
}

warn contains msg if {
	cfg := check_config("actions-pinned", actions_pinned_defaults)
	cfg.warn_waived
	some result in input.results
	result.check == "actions-pinned"
	result.facts.waived > 0
	msg := sprintf("%s: %d finding(s) waived by ignore comments", [result.subject, result.facts.waived])
}
