package verifier_test.actions_pinned

import data.verifier

finding(rule, line, waived) := {
	"rule": rule, "severity": "high", "message": sprintf("m%d", [line]), "waived": waived,
	"location": {"path": "w.yml", "line": line, "column": 15}, "properties": {},
}

result(findings, waived) := {
	"check": "actions-pinned", "subject": "w.yml", "verdict": "fail", "findings": findings,
	"facts": {"waived": waived},
}

test_unpinned_uses_denies if {
	msgs := verifier.deny with input as {"results": [result([finding("unpinned-uses", 7, false)], 0)], "config": {}}
	msgs == {"w.yml:7:15: unpinned-uses: m7"}
}

test_invalid_uses_and_unpinned_image_deny if {
	r := result([finding("invalid-uses", 3, false), finding("unpinned-image", 9, false)], 0)
	msgs := verifier.deny with input as {"results": [r], "config": {}}
	msgs == {"w.yml:3:15: invalid-uses: m3", "w.yml:9:15: unpinned-image: m9"}
}

test_waived_finding_allowed_but_counted if {
	r := result([finding("unpinned-uses", 7, true)], 1)
	count(verifier.deny) == 0 with input as {"results": [r], "config": {}}
	msgs := verifier.warn with input as {"results": [r], "config": {}}
	msgs == {"w.yml: 1 finding(s) waived by ignore comments"}
}

test_noncanonical_sha_warns_only if {
	r := result([finding("noncanonical-sha", 4, false)], 0)
	count(verifier.deny) == 0 with input as {"results": [r], "config": {}}
	msgs := verifier.warn with input as {"results": [r], "config": {}}
	msgs == {"w.yml:4:15: noncanonical-sha: m4"}
}

test_local_action_checkout_warns_by_default if {
	r := result([finding("local-action-checkout", 12, false)], 0)
	count(verifier.deny) == 0 with input as {"results": [r], "config": {}}
	count(verifier.warn) == 1 with input as {"results": [r], "config": {}}
}

test_deny_rules_configurable if {
	r := result([finding("local-action-checkout", 12, false)], 0)
	cfg := {"actions-pinned": {"deny_rules": ["unpinned-uses", "local-action-checkout"]}}
	msgs := verifier.deny with input as {"results": [r], "config": cfg}
	msgs == {"w.yml:12:15: local-action-checkout: m12"}
	count(verifier.warn) == 0 with input as {"results": [r], "config": cfg}
}

test_warn_mode_turns_denies_into_warnings if {
	r := result([finding("unpinned-uses", 7, false)], 0)
	cfg := {"actions-pinned": {"mode": "warn"}}
	count(verifier.deny) == 0 with input as {"results": [r], "config": cfg}
	msgs := verifier.warn with input as {"results": [r], "config": cfg}
	msgs == {"w.yml:7:15: unpinned-uses: m7"}
}

test_passing_file_allowed if {
	r := object.union(result([], 0), {"verdict": "pass"})
	count(verifier.deny) == 0 with input as {"results": [r], "config": {}}
	count(verifier.warn) == 0 with input as {"results": [r], "config": {}}
}

test_error_verdict_denies if {
	r := {
		"check": "actions-pinned", "subject": "bad.yml", "verdict": "error",
		"findings": [{"rule": "invalid-file", "severity": "high", "message": "bad.yml: top level is a list", "waived": false, "location": {"path": "bad.yml", "line": 1, "column": 1}, "properties": {}}],
		"facts": {"error": "top level is a list"},
	}
	msgs := verifier.deny with input as {"results": [r], "config": {}}
	msgs == {"bad.yml: actions-pinned could not be evaluated: top level is a list"}
}

test_other_checks_ignored if {
	r := object.union(result([finding("unpinned-uses", 7, false)], 0), {"check": "sarif-severity", "facts": {"unwaived": {}, "waived": 0, "degraded": 0}})
	count(verifier.deny) == 0 with input as {"results": [r], "config": {}}
}
