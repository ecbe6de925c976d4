# signature: deny an image that no signature satisfying the signer policy vouches for.
# The cryptography and the identity policy run in Python (verifier.checks.signature); this file only reads
# the verified facts. Verdict "error" (evidence incomplete) is denied by verifier.rego.
package verifier

signature_defaults := {
	# How many distinct verified signatures the image needs (e.g. 2 for two-party signing).
	"min_signatures": 1,
	# Warn about signatures that failed although another one passed (a stale or foreign signature).
	"warn_failed": true,
}

signature_reasons(result) := concat(", ", sort([r | some r in {f.rule | some f in result.findings}]))

deny contains msg if {
	some result in input.results
	result.check == "signature"
	result.verdict == "fail"
	msg := sprintf("%s: not signed by a trusted signer (%s)", [result.subject, signature_reasons(result)])
}

deny contains msg if {
	some result in input.results
	result.check == "signature"
	result.verdict == "pass"
	cfg := check_config("signature", signature_defaults)
	result.facts.count < cfg.min_signatures
	msg := sprintf("%s: %d verified signature(s), the policy needs %d", [result.subject, result.facts.count, cfg.min_signatures])
}

warn contains msg if {
	some result in input.results
	result.check == "signature"
	result.verdict == "pass"
	cfg := check_config("signature", signature_defaults)
	cfg.warn_failed
	result.facts.failed > 0
	msg := sprintf("%s: %d signature(s) did not verify (%s)", [result.subject, result.facts.failed, signature_reasons(result)])
}
