package verifier_test.sarif_severity

import data.verifier

sarif_result(unwaived, extra) := object.union({
	"check": "sarif-severity", "subject": "scan.sarif", "verdict": "fail", "findings": [],
	"facts": {"unwaived": unwaived, "waived": 0, "degraded": 0},
}, extra)

test_critical_denies_by_default if {
	msgs := verifier.deny with input as {"results": [sarif_result({"critical": 2}, {})], "config": {}}
	msgs == {"scan.sarif: 2 unwaived critical finding(s) (fail-on: critical,high)"}
}

test_medium_allowed_by_default if {
	count(verifier.deny) == 0 with input as {"results": [sarif_result({"medium": 7, "low": 1}, {})], "config": {}}
}

test_fail_on_medium_denies if {
	msgs := verifier.deny with input as {
		"results": [sarif_result({"medium": 7}, {})],
		"config": {"sarif-severity": {"fail_on": ["medium"]}},
	}
	msgs == {"scan.sarif: 7 unwaived medium finding(s) (fail-on: medium)"}
}

test_empty_report_allowed if {
	count(verifier.deny) == 0 with input as {"results": [sarif_result({}, {"verdict": "pass"})], "config": {}}
}

test_deny_ids_ignore_severity if {
	r := sarif_result({"low": 1}, {"findings": [{"rule": "CVE-2021-44228", "severity": "low", "waived": false}]})
	msgs := verifier.deny with input as {"results": [r], "config": {"sarif-severity": {"deny_ids": ["CVE-2021-44228"]}}}
	msgs == {"scan.sarif: CVE-2021-44228 is on the deny list"}
}

test_waived_deny_id_allowed if {
	r := sarif_result({}, {"findings": [{"rule": "CVE-2021-44228", "severity": "critical", "waived": true}]})
	count(verifier.deny) == 0 with input as {"results": [r], "config": {"sarif-severity": {"deny_ids": ["CVE-2021-44228"]}}}
}

test_degraded_warns if {
	r := sarif_result({}, {"facts": {"unwaived": {}, "waived": 0, "degraded": 3}})
	msgs := verifier.warn with input as {"results": [r], "config": {}}
	msgs == {"scan.sarif: severity of 3 finding(s) inferred from a CVSS score or SARIF level, not the scanner's severity"}
}

test_error_verdict_denies if {
	r := {"check": "sarif-severity", "subject": "x.sarif", "verdict": "error", "findings": [], "facts": {"error": "boom", "unwaived": {}, "waived": 0, "degraded": 0}}
	msgs := verifier.deny with input as {"results": [r], "config": {}}
	msgs == {"x.sarif: sarif-severity could not be evaluated: boom"}
}

test_no_results_denies if {
	msgs := verifier.deny with input as {"results": [], "config": {}}
	msgs == {"no check results: nothing was verified"}
}

# --- fail_on is a threshold --------------------------------------------------------------------------

test_one_level_is_that_level_and_above if {
	msgs := verifier.deny with input as {
		"results": [sarif_result({"critical": 1, "medium": 2, "low": 4}, {})],
		"config": {"sarif-severity": {"fail_on": ["medium"]}},
	}
	msgs == {
		"scan.sarif: 1 unwaived critical finding(s) (fail-on: medium)",
		"scan.sarif: 2 unwaived medium finding(s) (fail-on: medium)",
	}
}

test_list_with_holes_never_lets_the_hole_through if {
	msgs := verifier.deny with input as {
		"results": [sarif_result({"critical": 13}, {})],
		"config": {"sarif-severity": {"fail_on": ["low", "medium"]}},
	}
	msgs == {"scan.sarif: 13 unwaived critical finding(s) (fail-on: low,medium)"}
}

test_unknown_threshold_includes_everything_scanners_report if {
	msgs := verifier.deny with input as {
		"results": [sarif_result({"unknown": 1, "low": 1}, {})],
		"config": {"sarif-severity": {"fail_on": ["unknown"]}},
	}
	count(msgs) == 2
}

test_unreadable_fail_on_denies if {
	msgs := verifier.deny with input as {
		"results": [sarif_result({}, {"verdict": "pass"})],
		"config": {"sarif-severity": {"fail_on": ["severe"]}},
	}
	msgs == {"sarif-severity: fail_on names \"severe\", not one of critical, high, medium, low, unknown"}
}

test_empty_fail_on_denies if {
	msgs := verifier.deny with input as {
		"results": [sarif_result({"critical": 1}, {"verdict": "pass"})],
		"config": {"sarif-severity": {"fail_on": []}},
	}
	msgs == {"sarif-severity: fail_on is empty: no severity would deny"}
}

# --- the scan must have run -----------------------------------------------------------------------------

test_scan_not_run_denies if {
	r := sarif_result({}, {"facts": {"unwaived": {}, "waived": 0, "degraded": 0, "not_run": ["runs[0] has no 'results'"]}})
	msgs := verifier.deny with input as {"results": [r], "config": {}}
	msgs == {"scan.sarif: the scan did not run or did not finish: runs[0] has no 'results'"}
}

# --- the scan must be of the gated image ----------------------------------------------------------------

gated := "sha256:716e353bc5cad15053aa54e70f2f35085c2ed047b69d9a917fdf66b857fc623b"

bound_result(status, problems) := sarif_result({}, {"facts": {
	"unwaived": {}, "waived": 0, "degraded": 0,
	"image_binding": {"status": status, "gated": [gated], "problems": problems},
}})

test_bound_report_allowed if {
	count(verifier.deny) == 0 with input as {"results": [bound_result("bound", [])], "config": {}}
}

test_not_checked_allowed if {
	r := sarif_result({}, {"facts": {"unwaived": {}, "waived": 0, "degraded": 0, "image_binding": {"status": "not-checked", "gated": [], "problems": []}}})
	count(verifier.deny) == 0 with input as {"results": [r], "config": {}}
}

test_report_of_another_image_denies if {
	msgs := verifier.deny with input as {"results": [bound_result("mismatch", ["runs[0] is a scan of quay.io/x/y@sha256:aa, not of the gated image"])], "config": {}}
	msgs == {sprintf("scan.sarif: the scan is of another image, not the gated %s: runs[0] is a scan of quay.io/x/y@sha256:aa, not of the gated image", [gated])}
}

test_report_of_another_image_denies_even_when_identity_optional if {
	msgs := verifier.deny with input as {
		"results": [bound_result("mismatch", ["x"])],
		"config": {"sarif-severity": {"require_image_identity": false}},
	}
	count(msgs) == 1
}

test_unbound_report_denies_by_default_and_says_how_to_bind if {
	msgs := verifier.deny with input as {"results": [bound_result("unbound", ["runs[0] names no image"])], "config": {}}
	msgs == {sprintf("scan.sarif: the report does not say it is a scan of the gated image %s (runs[0] names no image); scan the image by digest so the report records it, e.g. trivy image --format sarif registry/repo@%s", [gated, gated])}
}

test_unbound_report_only_warns_when_identity_optional if {
	inp := {"results": [bound_result("unbound", ["runs[0] names no image"])], "config": {"sarif-severity": {"require_image_identity": false}}}
	count(verifier.deny) == 0 with input as inp
	count(verifier.warn) == 1 with input as inp
}

# --- max_age ------------------------------------------------------------------------------------------------

timed_result(scanned_at) := sarif_result({}, {"facts": {"unwaived": {}, "waived": 0, "degraded": 0, "scanned_at": scanned_at}})

test_scan_within_max_age_allowed if {
	count(verifier.deny) == 0 with input as {
		"results": [timed_result("2026-11-20T00:00:00Z")],
		"config": {"sarif-severity": {"max_age": "168h"}}, "now": "2026-11-26T00:00:00Z",
	}
}

test_scan_older_than_max_age_denies if {
	msgs := verifier.deny with input as {
		"results": [timed_result("2026-11-18T23:59:59.5Z")],
		"config": {"sarif-severity": {"max_age": "168h"}}, "now": "2026-11-26T00:00:00Z",
	}
	msgs == {"scan.sarif: the scan ran at 2026-11-18T23:59:59.5Z, older than max_age 168h"}
}

test_scan_without_time_denies_only_with_max_age if {
	msgs := verifier.deny with input as {
		"results": [timed_result(null)],
		"config": {"sarif-severity": {"max_age": "24h"}}, "now": "2026-11-26T00:00:00Z",
	}
	msgs == {"scan.sarif: the report does not say when the scan ran, so its age (max_age 24h) cannot be checked; Trivy's JSON report (CreatedAt) and cosign-vuln attestations record it, its SARIF does not"}
	count(verifier.deny) == 0 with input as {"results": [timed_result(null)], "config": {}, "now": "2026-11-26T00:00:00Z"}
}

test_scan_from_the_future_denies if {
	msgs := verifier.deny with input as {
		"results": [timed_result("2026-11-26T00:10:00Z")],
		"config": {}, "now": "2026-11-26T00:00:00Z",
	}
	msgs == {"scan.sarif: the scan time 2026-11-26T00:10:00Z is after now (2026-11-26T00:00:00Z)"}
	count(verifier.deny) == 0 with input as {"results": [timed_result("2026-11-26T00:04:00Z")], "config": {}, "now": "2026-11-26T00:00:00Z"}
}

test_unknown_binding_status_denies if {
	r := sarif_result({}, {"facts": {"unwaived": {}, "waived": 0, "degraded": 0, "image_binding": {"status": "maybe"}}})
	msgs := verifier.deny with input as {"results": [r], "config": {}}
	msgs == {"scan.sarif: unknown image binding status maybe"}
}

test_unbound_without_details_still_denies if {
	r := sarif_result({}, {"facts": {"unwaived": {}, "waived": 0, "degraded": 0, "image_binding": {"status": "unbound"}}})
	msgs := verifier.deny with input as {"results": [r], "config": {}}
	msgs == {"scan.sarif: the report does not say it is a scan of the gated image  (); scan the image by digest so the report records it, e.g. trivy image --format sarif registry/repo@sha256:<digest>"}
}

other := "sha256:0000000000000000000000000000000000000000000000000000000000000000"

release_result(subject, bound_to) := {
	"check": "sarif-severity", "subject": subject, "verdict": "pass", "findings": [],
	"facts": {"unwaived": {}, "waived": 0, "degraded": 0, "image_binding": {
		"status": "bound", "gated": [gated, other], "bound_to": bound_to, "problems": [],
	}},
}

test_every_image_of_a_release_needs_a_report if {
	msgs := verifier.deny with input as {"results": [release_result("a.sarif", [gated])], "config": {}}
	msgs == {sprintf("sarif-severity: no scan report of the release's image %s (every image needs a report that names its digest)", [other])}
	count(verifier.deny) == 0 with input as {
		"results": [release_result("a.sarif", [gated]), release_result("b.sarif", [other])],
		"config": {},
	}
	count(verifier.deny) == 0 with input as {"results": [release_result("ab.sarif", [gated, other])], "config": {}}
}

test_release_coverage_only_warns_when_identity_optional if {
	inp := {"results": [release_result("a.sarif", [gated])], "config": {"sarif-severity": {"require_image_identity": false}}}
	count(verifier.deny) == 0 with input as inp
	verifier.warn == {sprintf("sarif-severity: no scan report of the release's image %s (every image needs a report that names its digest)", [other])} with input as inp
}
