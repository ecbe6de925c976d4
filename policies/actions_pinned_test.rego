package verifier_test.actions_pinned

import data.verifier

result(unwaived, waived) := {
	"check": "actions-pinned", "subject": "w.yml", "verdict": "fail",
	"findings": [{"rule": "unpinned-uses", "severity": "high", "waived": false, "kind": "repository", "path": "w.yml"}],
	"facts": {"unwaived": unwaived, "waived": waived},
}

test_unpinned_uses_denies if {
	msgs := verifier.deny with input as {"results": [result({"unpinned-uses": 3}, 0)], "config": {}}
	msgs == {"w.yml: 3 unwaived unpinned-uses finding(s)"}
}

test_invalid_uses_and_unpinned_image_deny if {
	r := result({"invalid-uses": 1, "unpinned-image": 2}, 0)
	msgs := verifier.deny with input as {"results": [r], "config": {}}
	msgs == {"w.yml: 1 unwaived invalid-uses finding(s)", "w.yml: 2 unwaived unpinned-image finding(s)"}
}

test_waived_findings_allowed_but_reported if {
	r := result({}, 2)
	count(verifier.deny) == 0 with input as {"results": [r], "config": {}}
	msgs := verifier.warn with input as {"results": [r], "config": {}}
	msgs == {"w.yml: 2 finding(s) waived by ignore comments"}
}

test_warn_waived_can_be_turned_off if {
	count(verifier.warn) == 0 with input as {"results": [result({}, 2)], "config": {"actions-pinned": {"warn_waived": false}}}
}

test_noncanonical_sha_warns_only if {
	r := result({"noncanonical-sha": 1}, 0)
	count(verifier.deny) == 0 with input as {"results": [r], "config": {}}
	msgs := verifier.warn with input as {"results": [r], "config": {}}
	msgs == {"w.yml: 1 unwaived noncanonical-sha finding(s)"}
}

test_local_action_checkout_warns_by_default if {
	r := result({"local-action-checkout": 4}, 0)
	count(verifier.deny) == 0 with input as {"results": [r], "config": {}}
	msgs := verifier.warn with input as {"results": [r], "config": {}}
	msgs == {"w.yml: 4 unwaived local-action-checkout finding(s)"}
}

test_deny_rules_configurable if {
	r := result({"local-action-checkout": 1, "unpinned-image": 1}, 0)
	cfg := {"actions-pinned": {"deny_rules": ["unpinned-uses", "local-action-checkout"]}}
	msgs := verifier.deny with input as {"results": [r], "config": cfg}
	msgs == {"w.yml: 1 unwaived local-action-checkout finding(s)"}
	# a rule in both lists denies and does not also warn; unpinned-image is in neither list now
	count(verifier.warn) == 0 with input as {"results": [r], "config": cfg}
}

test_warn_mode_turns_denies_into_warnings if {
	r := result({"unpinned-uses": 5}, 0)
	cfg := {"actions-pinned": {"mode": "warn"}}
	count(verifier.deny) == 0 with input as {"results": [r], "config": cfg}
	msgs := verifier.warn with input as {"results": [r], "config": cfg}
	msgs == {"w.yml: 5 unwaived unpinned-uses finding(s)"}
}

test_pin_policy_patterns_do_not_confuse_the_policy if {
	cfg := {"actions-pinned": {"policy": {"*": "hash-pin", "actions/*": "ref-pin"}}}
	msgs := verifier.deny with input as {"results": [result({"unpinned-uses": 1}, 0)], "config": cfg}
	msgs == {"w.yml: 1 unwaived unpinned-uses finding(s)"}
}

test_passing_file_allowed if {
	r := object.union(result({}, 0), {"verdict": "pass", "findings": []})
	count(verifier.deny) == 0 with input as {"results": [r], "config": {}}
	count(verifier.warn) == 0 with input as {"results": [r], "config": {}}
}

test_error_verdict_denies_once if {
	r := {
		"check": "actions-pinned", "subject": "bad.yml", "verdict": "error",
		"findings": [{"rule": "invalid-file", "severity": "high", "waived": false, "kind": null, "path": "bad.yml"}],
		"facts": {"error": "top level is a list, expected a mapping", "unwaived": {"invalid-file": 1}, "waived": 0},
	}
	msgs := verifier.deny with input as {"results": [r], "config": {}}
	msgs == {"bad.yml: actions-pinned could not be evaluated: top level is a list, expected a mapping"}
}

test_other_checks_ignored if {
	r := object.union(result({"unpinned-uses": 1}, 0), {"check": "sarif-severity", "facts": {"unwaived": {}, "waived": 0, "degraded": 0}})
	count(verifier.deny) == 0 with input as {"results": [r], "config": {}}
}
