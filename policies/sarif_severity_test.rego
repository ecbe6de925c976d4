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
