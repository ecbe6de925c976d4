# oidc-trust: map the seven verdicts of a cloud OIDC trust configuration to deny/warn.
# Default: fail, warn-org and unsupported (the evaluator did not understand what decides) deny;
# warn-ref, broken and indeterminate warn; pass is silent. "error" (unreadable) is denied by verifier.rego.
# Configure with input.config["oidc-trust"] = {"deny": [...verdicts], "warn": [...verdicts]}.
# An indeterminate result whose narrowest reading (facts.verdict_if_narrow) is itself denied is denied:
# no value of its templates can make it acceptable.
package verifier

oidc_trust_defaults := {
	"deny": ["fail", "warn-org", "unsupported"],
	"warn": ["warn-ref", "broken", "indeterminate"],
}

oidc_trust_verdicts := {"pass", "warn-ref", "warn-org", "fail", "broken", "indeterminate", "unsupported"}

oidc_trust_results contains result if {
	some result in input.results
	result.check == "oidc-trust"
}

oidc_trust_message(result) := sprintf("%s: oidc-trust %s: %s", [
	result.subject, result.verdict,
	object.get(result.facts, "reason", object.get(result.facts, "summary", "")),
])

deny contains oidc_trust_message(result) if {
	cfg := check_config("oidc-trust", oidc_trust_defaults)
	some result in oidc_trust_results
	result.verdict in cfg.deny
}

deny contains msg if {
	cfg := check_config("oidc-trust", oidc_trust_defaults)
	some result in oidc_trust_results
	result.verdict == "indeterminate"
	not "indeterminate" in cfg.deny
	narrow := object.get(result.facts, "verdict_if_narrow", "")
	narrow in cfg.deny
	msg := sprintf("%s: oidc-trust indeterminate: even the narrowest reading of its templates is %s", [
		result.subject, narrow,
	])
}

# unsupported is denied even when a configuration lists other deny verdicts: accepting it takes naming it
# under "warn" (a team that accepts the evaluator's blind spots says so).
deny contains oidc_trust_message(result) if {
	cfg := check_config("oidc-trust", oidc_trust_defaults)
	some result in oidc_trust_results
	result.verdict == "unsupported"
	not "unsupported" in cfg.deny
	not "unsupported" in cfg.warn
}

warn contains oidc_trust_message(result) if {
	cfg := check_config("oidc-trust", oidc_trust_defaults)
	some result in oidc_trust_results
	result.verdict in cfg.warn
	not result.verdict in cfg.deny
}

# A verdict this policy does not know (a newer check, a typo in a hand-made input) never allows.
deny contains msg if {
	some result in oidc_trust_results
	not result.verdict in oidc_trust_verdicts
	result.verdict != "error"
	msg := sprintf("%s: oidc-trust returned unknown verdict %q", [result.subject, result.verdict])
}
