package verifier_test.provenance

import data.verifier

prov_finding(rule) := {"rule": rule, "severity": "high", "message": rule, "waived": false, "properties": {}}

prov_result(verdict, findings, unsigned_satisfying) := {
	"check": "provenance", "subject": "reg/app@sha256:ab", "verdict": verdict, "findings": findings,
	"facts": {"digest": "sha256:ab", "build_level": 0, "unsigned_satisfying": unsigned_satisfying},
}

test_pass_allows if {
	r := object.union(prov_result("pass", [], 0), {"facts": {"build_level": 3, "unsigned_satisfying": 0}})
	count(verifier.deny) == 0 with input as {"results": [r], "config": {}}
	count(verifier.warn) == 0 with input as {"results": [r], "config": {}}
}

test_fail_denies_with_reasons if {
	r := prov_result("fail", [prov_finding("source-mismatch"), prov_finding("builder-claim-mismatch")], 0)
	msgs := verifier.deny with input as {"results": [r], "config": {}}
	msgs == {"reg/app@sha256:ab: no verified provenance satisfies the policy (builder-claim-mismatch, source-mismatch)"}
}

test_unsigned_provenance_does_not_satisfy_by_default if {
	r := prov_result("fail", [prov_finding("provenance-unsigned")], 2)
	msgs := verifier.deny with input as {"results": [r], "config": {}}
	msgs == {"reg/app@sha256:ab: no verified provenance satisfies the policy (provenance-unsigned)"}
}

test_allow_unsigned_warns_only_when_unsigned_satisfies if {
	r := prov_result("fail", [prov_finding("provenance-unsigned")], 1)
	cfg := {"provenance": {"allow_unsigned": true}}
	count(verifier.deny) == 0 with input as {"results": [r], "config": cfg}
	msgs := verifier.warn with input as {"results": [r], "config": cfg}
	msgs == {"reg/app@sha256:ab: only unsigned provenance satisfies the policy (accepted by allow_unsigned)"}

	# Unsigned provenance that fails a requirement is still denied.
	bad := prov_result("fail", [prov_finding("provenance-unsigned"), prov_finding("builder-untrusted")], 0)
	count(verifier.deny) == 1 with input as {"results": [bad], "config": cfg}
}

test_no_provenance_denies if {
	r := prov_result("fail", [prov_finding("no-provenance")], 0)
	msgs := verifier.deny with input as {"results": [r], "config": {}}
	msgs == {"reg/app@sha256:ab: no verified provenance satisfies the policy (no-provenance)"}
}

test_not_required_warns if {
	r := prov_result("fail", [prov_finding("no-provenance")], 0)
	cfg := {"provenance": {"required": false}}
	count(verifier.deny) == 0 with input as {"results": [r], "config": cfg}
	msgs := verifier.warn with input as {"results": [r], "config": cfg}
	msgs == {"reg/app@sha256:ab: no verified provenance (no-provenance); not required"}
}

test_error_denies if {
	r := object.union(prov_result("error", [prov_finding("evidence-incomplete")], 0), {"facts": {"error": "referrer blob missing"}})
	msgs := verifier.deny with input as {"results": [r], "config": {}}
	msgs == {"reg/app@sha256:ab: provenance could not be evaluated: referrer blob missing"}
}
