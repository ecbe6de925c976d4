# actions-pinned: deny files with unwaived findings of the rules in `deny_rules`, warn on `warn_rules`.
# Decides on the check's facts (`unwaived`: rule -> count, `waived`: count); the per-finding detail
# (line, column, value, ref kind) is in the report. The pin policy itself (hash-pin / ref-pin / any per
# owner/repo pattern, `policy:` in the same config object) is applied by the check.
# A file that could not be read or parsed has verdict "error" and is denied by verifier.rego.
package verifier

actions_pinned_defaults := {
	"deny_rules": ["unpinned-uses", "invalid-uses", "unpinned-image"],
	"warn_rules": ["noncanonical-sha", "local-action-checkout"],
	# "deny" (default) or "warn": a rollout mode that reports deny_rules findings as warnings only.
	"mode": "deny",
	"warn_waived": true,
}

actions_pinned_counts(rules) := {[result.subject, n, rule] |
	some result in input.results
	result.check == "actions-pinned"
	result.verdict != "error"
	some rule in rules
	n := object.get(object.get(result.facts, "unwaived", {}), rule, 0)
	n > 0
}

actions_pinned_message(row) := sprintf("%s: %d unwaived %s finding(s)", row)

deny contains actions_pinned_message(row) if {
	cfg := check_config("actions-pinned", actions_pinned_defaults)
	cfg.mode == "deny"
	some row in actions_pinned_counts(cfg.deny_rules)
}

warn contains actions_pinned_message(row) if {
	cfg := check_config("actions-pinned", actions_pinned_defaults)
	cfg.mode == "warn"
	some row in actions_pinned_counts(cfg.deny_rules)
}

warn contains actions_pinned_message(row) if {
	cfg := check_config("actions-pinned", actions_pinned_defaults)
	rules := {rule | some rule in cfg.warn_rules; not rule in cfg.deny_rules}
	some row in actions_pinned_counts(rules)
}

warn contains msg if {
	cfg := check_config("actions-pinned", actions_pinned_defaults)
	cfg.warn_waived
	some result in input.results
	result.check == "actions-pinned"
	object.get(result.facts, "waived", 0) > 0
	msg := sprintf("%s: %d finding(s) waived by ignore comments", [result.subject, result.facts.waived])
}
