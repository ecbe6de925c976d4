package verifier_test.oidc_trust

import data.verifier

res(verdict) := {
	"check": "oidc-trust", "subject": "role.json", "verdict": verdict, "findings": [],
	"facts": {"summary": "s", "reason": "why"},
}

inp(results, cfg) := {"results": results, "config": cfg, "now": "2026-11-26T00:00:00Z"}

test_fail_denies if {
	verifier.deny == {"role.json: oidc-trust fail: why"} with input as inp([res("fail")], {})
}

test_warn_org_denies if {
	verifier.deny == {"role.json: oidc-trust warn-org: why"} with input as inp([res("warn-org")], {})
}

test_warn_ref_warns_only if {
	count(verifier.deny) == 0 with input as inp([res("warn-ref")], {})
	verifier.warn == {"role.json: oidc-trust warn-ref: why"} with input as inp([res("warn-ref")], {})
}

test_broken_warns_only if {
	count(verifier.deny) == 0 with input as inp([res("broken")], {})
	verifier.warn == {"role.json: oidc-trust broken: why"} with input as inp([res("broken")], {})
}

test_indeterminate_warns_only if {
	count(verifier.deny) == 0 with input as inp([res("indeterminate")], {})
	verifier.warn == {"role.json: oidc-trust indeterminate: why"} with input as inp([res("indeterminate")], {})
}

test_unsupported_denies if {
	verifier.deny == {"role.json: oidc-trust unsupported: why"} with input as inp([res("unsupported")], {})
}

test_unsupported_still_denied_when_deny_list_is_customised if {
	cfg := {"oidc-trust": {"deny": ["fail", "warn-org", "warn-ref"]}}
	verifier.deny == {"role.json: oidc-trust unsupported: why"} with input as inp([res("unsupported")], cfg)
}

test_unsupported_accepted_only_when_named_under_warn if {
	cfg := {"oidc-trust": {"deny": ["fail"], "warn": ["unsupported"]}}
	count(verifier.deny) == 0 with input as inp([res("unsupported")], cfg)
	verifier.warn == {"role.json: oidc-trust unsupported: why"} with input as inp([res("unsupported")], cfg)
}

test_pass_is_silent if {
	count(verifier.deny) == 0 with input as inp([res("pass")], {})
	count(verifier.warn) == 0 with input as inp([res("pass")], {})
}

test_summary_used_without_reason if {
	r := {"check": "oidc-trust", "subject": "x", "verdict": "fail", "findings": [], "facts": {"summary": "sum"}}
	verifier.deny == {"x: oidc-trust fail: sum"} with input as inp([r], {})
}

test_config_moves_warn_ref_to_deny if {
	cfg := {"oidc-trust": {"deny": ["fail", "warn-org", "warn-ref"]}}
	verifier.deny == {"role.json: oidc-trust warn-ref: why"} with input as inp([res("warn-ref")], cfg)
	count(verifier.warn) == 0 with input as inp([res("warn-ref")], cfg)
}

test_config_can_relax_warn_org_to_warn if {
	cfg := {"oidc-trust": {"deny": ["fail"], "warn": ["warn-org", "warn-ref"]}}
	count(verifier.deny) == 0 with input as inp([res("warn-org")], cfg)
	verifier.warn == {"role.json: oidc-trust warn-org: why"} with input as inp([res("warn-org")], cfg)
}

test_indeterminate_denied_when_even_narrow_reading_denied if {
	r := object.union(res("indeterminate"), {"facts": {"verdict_if_narrow": "warn-org", "verdict_if_broad": "fail"}})
	verifier.deny == {"role.json: oidc-trust indeterminate: even the narrowest reading of its templates is warn-org"} with input as inp([r], {})
}

test_indeterminate_with_narrow_pass_only_warns if {
	r := object.union(res("indeterminate"), {"facts": {"verdict_if_narrow": "pass", "verdict_if_broad": "fail"}})
	count(verifier.deny) == 0 with input as inp([r], {})
}

test_unknown_verdict_denies if {
	verifier.deny == {"role.json: oidc-trust returned unknown verdict \"weird\""} with input as inp([res("weird")], {})
}

test_other_checks_ignored if {
	r := object.union(res("fail"), {"check": "sarif-severity", "facts": {"unwaived": {}, "waived": 0, "degraded": 0}})
	count(verifier.deny) == 0 with input as inp([r], {})
}

test_several_results_each_reported if {
	a := object.union(res("fail"), {"subject": "a.json"})
	b := object.union(res("warn-ref"), {"subject": "b.json"})
	verifier.deny == {"a.json: oidc-trust fail: why"} with input as inp([a, b], {})
	verifier.warn == {"b.json: oidc-trust warn-ref: why"} with input as inp([a, b], {})
}
