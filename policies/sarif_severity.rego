# sarif-severity: deny when a scanner report has unwaived findings at a fail-on severity, when it does not
# prove the scan ran, when it is not a scan of the gated image, or when it is older than max_age.
# Counts come from the check's facts (unwaived findings per severity), so the decision costs the same
# for ten findings or fifty thousand. Time only from input.now.
package verifier

sarif_defaults := {
	"fail_on": ["critical", "high"],
	"deny_ids": [],
	"warn_degraded": true,
	"max_age": "",
	"require_image_identity": true,
}

sarif_cfg := check_config("sarif-severity", sarif_defaults)

sarif_results contains result if {
	some result in input.results
	result.check == "sarif-severity"
}

# --- unwaived-severity: fail_on is a threshold (Trivy's order; unknown sorts below low) --------------------
# Its least severe level and every level above it deny, so a list that leaves out a more severe level
# (["low", "medium"]) never lets that level through.

sarif_rank := {"unknown": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

sarif_fail_levels contains severity if {
	threshold := min({rank | some name in sarif_cfg.fail_on; rank := sarif_rank[name]})
	some severity, rank in sarif_rank
	rank >= threshold
}

deny contains msg if {
	some result in sarif_results
	some severity in sarif_fail_levels
	n := object.get(result.facts.unwaived, severity, 0)
	n > 0
	msg := sprintf("%s: %d unwaived %s finding(s) (fail-on: %s)", [result.subject, n, severity, concat(",", sarif_cfg.fail_on)])
}

# A fail_on the policy cannot read must not turn into "nothing denies".
deny contains msg if {
	count(sarif_results) > 0
	some name in sarif_cfg.fail_on
	not sarif_known_level(name)
	msg := sprintf("sarif-severity: fail_on names %q, not one of critical, high, medium, low, unknown", [name])
}

sarif_known_level(name) if {
	some known, _ in sarif_rank
	known == name
}

deny contains "sarif-severity: fail_on is empty: no severity would deny" if {
	count(sarif_results) > 0
	count(sarif_cfg.fail_on) == 0
}

# Specific ids denied whatever their severity (e.g. a known-exploited CVE), unless waived.
deny contains msg if {
	some result in sarif_results
	count(sarif_cfg.deny_ids) > 0
	some finding in result.findings
	not finding.waived
	finding.rule in sarif_cfg.deny_ids
	msg := sprintf("%s: %s is on the deny list", [result.subject, finding.rule])
}

warn contains msg if {
	some result in sarif_results
	sarif_cfg.warn_degraded
	result.facts.degraded > 0
	msg := sprintf("%s: severity of %d finding(s) inferred from a CVSS score or SARIF level, not the scanner's severity", [result.subject, result.facts.degraded])
}

warn contains msg if {
	some result in sarif_results
	result.facts.waived > 0
	msg := sprintf("%s: %d finding(s) waived (ignore file, VEX or --ignore-unfixed)", [result.subject, result.facts.waived])
}

warn contains msg if {
	cfg := object.get(input.config, "sarif-severity", {})
	some problem in object.get(cfg, "ignore_file_problems", [])
	msg := sprintf("ignore file: %s", [problem])
}

# The decision reads the per-severity counts; a result without them must not pass for want of counts.
deny contains msg if {
	some result in sarif_results
	not sarif_has_counts(result)
	msg := sprintf("%s: sarif-severity result has no per-severity counts (facts.unwaived)", [result.subject])
}

# A rule, not `not is_object(...)` inline: OPA and regorus disagree on a negated builtin over an undefined
# reference (the cross-engine test caught it); negating a rule is defined the same way on both.
sarif_has_counts(result) if is_object(result.facts.unwaived)

# --- scan-not-run: no runs, a run without results (not computed), executionSuccessful false --------------

deny contains msg if {
	some result in sarif_results
	some reason in object.get(result.facts, "not_run", [])
	msg := sprintf("%s: the scan did not run or did not finish: %s", [result.subject, reason])
}

# --- scan-other-image / scan-not-bound: the report must be a scan of the gated image --------------------

sarif_binding(result) := object.get(result.facts, "image_binding", {"status": "not-checked"})

sarif_gated(binding) := concat(" / ", object.get(binding, "gated", []))

sarif_problems(binding) := concat("; ", object.get(binding, "problems", []))

# The digest to show in the hint: the gated one (a report is only unbound when an image is gated).
sarif_hint_digest(binding) := binding.gated[0] if {
	count(object.get(binding, "gated", [])) > 0
} else := "sha256:<digest>"

deny contains msg if {
	some result in sarif_results
	binding := sarif_binding(result)
	binding.status == "mismatch"
	msg := sprintf("%s: the scan is of another image, not the gated %s: %s", [result.subject, sarif_gated(binding), sarif_problems(binding)])
}

sarif_unbound_msg(result, binding) := sprintf("%s: the report does not say it is a scan of the gated image %s (%s); scan the image by digest so the report records it, e.g. trivy image --format sarif registry/repo@%s", [result.subject, sarif_gated(binding), sarif_problems(binding), sarif_hint_digest(binding)])

deny contains msg if {
	some result in sarif_results
	binding := sarif_binding(result)
	binding.status == "unbound"
	sarif_cfg.require_image_identity
	msg := sarif_unbound_msg(result, binding)
}

warn contains msg if {
	some result in sarif_results
	binding := sarif_binding(result)
	binding.status == "unbound"
	not sarif_cfg.require_image_identity
	msg := sarif_unbound_msg(result, binding)
}

# Several images in one release: each needs a report that names its digest (a report of one of them binds
# only that one). Said once some report is bound; an unbound report already denies on its own.
sarif_release_digests contains digest if {
	some result in sarif_results
	some digest in object.get(sarif_binding(result), "gated", [])
}

sarif_scanned_digests contains digest if {
	some result in sarif_results
	some digest in object.get(sarif_binding(result), "bound_to", [])
}

sarif_unscanned_msg(digest) := sprintf("sarif-severity: no scan report of the release's image %s (every image needs a report that names its digest)", [digest])

deny contains sarif_unscanned_msg(digest) if {
	sarif_cfg.require_image_identity
	count(sarif_scanned_digests) > 0
	some digest in sarif_release_digests
	not digest in sarif_scanned_digests
}

warn contains sarif_unscanned_msg(digest) if {
	not sarif_cfg.require_image_identity
	count(sarif_scanned_digests) > 0
	some digest in sarif_release_digests
	not digest in sarif_scanned_digests
}

# A binding status this policy does not know must not pass as bound.
sarif_binding_statuses := {"bound", "unbound", "mismatch", "not-checked"}

deny contains msg if {
	some result in sarif_results
	binding := sarif_binding(result)
	not binding.status in sarif_binding_statuses
	msg := sprintf("%s: unknown image binding status %v", [result.subject, object.get(binding, "status", null)])
}

# --- scan-too-old: max_age (a Go duration such as "168h") against input.now ----------------------------

sarif_scanned_at(result) := object.get(result.facts, "scanned_at", null)

deny contains msg if {
	some result in sarif_results
	sarif_cfg.max_age != ""
	not is_string(sarif_scanned_at(result))
	msg := sprintf("%s: the report does not say when the scan ran, so its age (max_age %s) cannot be checked; Trivy's JSON report (CreatedAt) and cosign-vuln attestations record it, its SARIF does not", [result.subject, sarif_cfg.max_age])
}

deny contains msg if {
	some result in sarif_results
	sarif_cfg.max_age != ""
	scanned_at := sarif_scanned_at(result)
	is_string(scanned_at)
	age := time.parse_rfc3339_ns(input.now) - time.parse_rfc3339_ns(scanned_at)
	age > time.parse_duration_ns(sarif_cfg.max_age)
	msg := sprintf("%s: the scan ran at %s, older than max_age %s", [result.subject, scanned_at, sarif_cfg.max_age])
}

# A scan time after now (beyond clock skew) is not evidence of a recent scan.
deny contains msg if {
	some result in sarif_results
	scanned_at := sarif_scanned_at(result)
	is_string(scanned_at)
	time.parse_rfc3339_ns(scanned_at) - time.parse_rfc3339_ns(input.now) > time.parse_duration_ns("5m")
	msg := sprintf("%s: the scan time %s is after now (%s)", [result.subject, scanned_at, input.now])
}
