package verifier_test.signature

import data.verifier

sig_finding(rule) := {"rule": rule, "severity": "high", "message": rule, "waived": false, "properties": {}}

sig_result(verdict, findings, verified, failed) := {
	"check": "signature", "subject": "reg/app@sha256:ab", "verdict": verdict, "findings": findings,
	"facts": {"count": verified, "failed": failed, "digest": "sha256:ab"},
}

test_pass_allows if {
	r := sig_result("pass", [], 1, 0)
	count(verifier.deny) == 0 with input as {"results": [r], "config": {}}
	count(verifier.warn) == 0 with input as {"results": [r], "config": {}}
}

test_fail_denies_with_reasons if {
	r := sig_result("fail", [sig_finding("identity-mismatch"), sig_finding("artifact-mismatch"), sig_finding("identity-mismatch")], 0, 3)
	msgs := verifier.deny with input as {"results": [r], "config": {}}
	msgs == {"reg/app@sha256:ab: not signed by a trusted signer (artifact-mismatch, identity-mismatch)"}
}

test_no_signature_denies if {
	r := sig_result("fail", [sig_finding("no-signature")], 0, 0)
	msgs := verifier.deny with input as {"results": [r], "config": {}}
	msgs == {"reg/app@sha256:ab: not signed by a trusted signer (no-signature)"}
}

test_error_denies if {
	r := object.union(sig_result("error", [sig_finding("evidence-incomplete")], 0, 0), {"facts": {"error": "registry capped the listing", "count": 0, "failed": 0}})
	msgs := verifier.deny with input as {"results": [r], "config": {}}
	msgs == {"reg/app@sha256:ab: signature could not be evaluated: registry capped the listing"}
}

test_passing_image_warns_about_failed_signatures if {
	r := sig_result("pass", [sig_finding("artifact-mismatch")], 1, 1)
	count(verifier.deny) == 0 with input as {"results": [r], "config": {}}
	msgs := verifier.warn with input as {"results": [r], "config": {}}
	msgs == {"reg/app@sha256:ab: 1 signature(s) did not verify (artifact-mismatch)"}
	count(verifier.warn) == 0 with input as {"results": [r], "config": {"signature": {"warn_failed": false}}}
}

test_min_signatures if {
	r := sig_result("pass", [], 1, 0)
	msgs := verifier.deny with input as {"results": [r], "config": {"signature": {"min_signatures": 2}}}
	msgs == {"reg/app@sha256:ab: 1 verified signature(s), the policy needs 2"}
	count(verifier.deny) == 0 with input as {"results": [sig_result("pass", [], 2, 0)], "config": {"signature": {"min_signatures": 2}}}
}
