# Rules shared by every check. Each check's own rules live in <check>.rego in this same package and add
# to the `deny` and `warn` sets. Policies take time only from input.now.
package verifier

# A check that could not be evaluated never allows: it denies with the reason it gave.
deny contains msg if {
	some result in input.results
	result.verdict == "error"
	msg := sprintf("%s: %s could not be evaluated: %s", [result.subject, result.check, error_reason(result)])
}

# Nothing to decide on is not an allow.
deny contains "no check results: nothing was verified" if {
	count(input.results) == 0
}

error_reason(result) := reason if {
	reason := result.facts.error
} else := "no reason given"

# Config for one check, with defaults when the caller gave none.
check_config(check_id, defaults) := object.union(defaults, object.get(input.config, check_id, {}))

# The checks this bundle has rules for. A result of any other check denies: a bundle that does not know a
# check must not let that check's failures through silently.
known_checks := {"sarif-severity", "actions-pinned", "oidc-trust", "signature", "sbom-attestation", "provenance"}

deny contains msg if {
	some result in input.results
	not result.check in known_checks
	msg := sprintf("%s: this policy bundle has no rules for check %q", [result.subject, result.check])
}
