# provenance: deny an image without verified build provenance that satisfies the provenance policy.
# Verification, the requirements and the certificate cross-check run in Python (verifier.checks.provenance);
# this file reads the verified facts. Verdict "error" (evidence incomplete) is denied by verifier.rego.
package verifier

provenance_defaults := {
	# Deny when no verified provenance satisfies the policy.
	"required": true,
	# Accept unsigned provenance (BuildKit attestation manifests) that satisfies every requirement, with a
	# warning. Off by default: anyone who can push to the registry can write unsigned provenance.
	"allow_unsigned": false,
}

# The rules that decided: high-severity findings (problems of unsigned evidence next to them are low).
provenance_reasons(result) := concat(", ", sort([r | some r in {f.rule | some f in result.findings; f.severity == "high"}]))

provenance_unsigned_accepted(result, cfg) if {
	cfg.allow_unsigned
	result.facts.unsigned_satisfying > 0
}

deny contains msg if {
	some result in input.results
	result.check == "provenance"
	result.verdict == "fail"
	cfg := check_config("provenance", provenance_defaults)
	cfg.required
	not provenance_unsigned_accepted(result, cfg)
	msg := sprintf("%s: no verified provenance satisfies the policy (%s)", [result.subject, provenance_reasons(result)])
}

warn contains msg if {
	some result in input.results
	result.check == "provenance"
	result.verdict == "fail"
	cfg := check_config("provenance", provenance_defaults)
	cfg.required
	provenance_unsigned_accepted(result, cfg)
	msg := sprintf("%s: only unsigned provenance satisfies the policy (accepted by allow_unsigned)", [result.subject])
}

warn contains msg if {
	some result in input.results
	result.check == "provenance"
	result.verdict == "fail"
	cfg := check_config("provenance", provenance_defaults)
	not cfg.required
	msg := sprintf("%s: no verified provenance (%s); not required", [result.subject, provenance_reasons(result)])
}
