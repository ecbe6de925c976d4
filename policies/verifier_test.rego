package verifier_test.base

import data.verifier

test_unknown_check_denies if {
	r := {"check": "future-check", "subject": "x", "verdict": "pass", "findings": [], "facts": {}}
	msgs := verifier.deny with input as {"results": [r], "config": {}}
	msgs == {"x: this policy bundle has no rules for check \"future-check\""}
}

test_known_check_passing_is_allowed if {
	r := {"check": "sarif-severity", "subject": "s", "verdict": "pass", "findings": [], "facts": {"unwaived": {}, "waived": 0, "degraded": 0}}
	count(verifier.deny) == 0 with input as {"results": [r], "config": {}}
}

test_sarif_without_counts_denies if {
	r := {"check": "sarif-severity", "subject": "s", "verdict": "fail", "findings": [], "facts": {}}
	msgs := verifier.deny with input as {"results": [r], "config": {}}
	msgs == {"s: sarif-severity result has no per-severity counts (facts.unwaived)"}
}
