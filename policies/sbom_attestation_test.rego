package verifier_test.sbom_attestation

import data.verifier

sbom(extra) := object.union({
	"format": "cyclonedx", "spec_version": "1.6", "created": "2026-11-20T10:00:00Z", "component_count": 2,
	"purls": ["pkg:npm/lodash@4.17.20", "pkg:npm/%40angular/core@16.0.0"],
	"package_versions": {"pkg:npm/lodash": ["4.17.20"], "pkg:npm/@angular/core": ["16.0.0"]},
	"licenses": ["MIT", "(MIT OR GPL-3.0-only)"], "license_ids": ["GPL-3.0-only", "MIT"],
	"described_digests": [], "digest_match": null, "source": "referrer sha256:aa", "subject_digest_match": true,
}, extra)

passing(sboms) := {
	"check": "sbom-attestation", "subject": "reg/app@sha256:11", "verdict": "pass", "findings": [],
	"facts": {"attestations_found": count(sboms), "sboms": sboms, "formats": {s.format | some s in sboms}, "created": sboms[0].created},
}

failing(rejected) := {
	"check": "sbom-attestation", "subject": "reg/app@sha256:11", "verdict": "fail",
	"findings": [{"rule": r.rule, "severity": "high", "waived": false} | some r in rejected],
	"facts": {"attestations_found": count(rejected), "sboms": [], "formats": [], "rejected": rejected},
}

doc(result, cfg) := {"results": [result], "config": {"sbom-attestation": cfg}, "now": "2026-11-26T12:00:00Z"}

test_verified_sbom_allowed_by_default if {
	count(verifier.deny) == 0 with input as doc(passing([sbom({})]), {})
}

test_missing_sbom_denied_by_default if {
	msgs := verifier.deny with input as doc(failing([]), {})
	msgs == {"reg/app@sha256:11: no verified SBOM attestation (0 attestation(s) found, none an SBOM for this image)"}
}

test_missing_sbom_names_rejections if {
	f := {"rule": "subject-mismatch", "message": "referrer sha256:bb: statement subject does not name the image"}
	msgs := verifier.deny with input as doc(failing([f]), {})
	msgs == {"reg/app@sha256:11: no verified SBOM attestation (1 found; rejected: referrer sha256:bb: statement subject does not name the image)"}
}

test_missing_sbom_only_warns_when_not_required if {
	count(verifier.deny) == 0 with input as doc(failing([]), {"required": false})
	count(verifier.warn) == 1 with input as doc(failing([]), {"required": false})
}

test_rejected_next_to_accepted_warns if {
	r := object.union(passing([sbom({})]), {"facts": {"rejected": [{"rule": "attestation-unverified", "message": "x: wrong identity"}]}})
	count(verifier.deny) == 0 with input as doc(r, {})
	msgs := verifier.warn with input as doc(r, {})
	msgs == {"reg/app@sha256:11: attestation rejected: x: wrong identity"}
}

test_too_old_denied if {
	msgs := verifier.deny with input as doc(passing([sbom({"created": "2026-10-01T00:00:00Z"})]), {"max_age": "720h"})
	msgs == {"reg/app@sha256:11: newest SBOM was created 2026-10-01T00:00:00Z, older than max_age 720h"}
}

test_recent_enough_allowed if {
	count(verifier.deny) == 0 with input as doc(passing([sbom({})]), {"max_age": "720h"})
}

test_no_created_with_max_age_denied if {
	r := passing([sbom({"created": null})])
	r2 := object.union(r, {"facts": {"created": null}})
	count(verifier.deny) == 1 with input as doc(r2, {"max_age": "24h"})
}

test_required_format_denied if {
	msgs := verifier.deny with input as doc(passing([sbom({})]), {"required_format": "spdx"})
	msgs == {"reg/app@sha256:11: no verified spdx SBOM (found: cyclonedx)"}
}

test_required_format_met if {
	count(verifier.deny) == 0 with input as doc(passing([sbom({})]), {"required_format": "cyclonedx"})
}

# The check matched the rules (verifier/sbom/packages.py; tests/unit/sbom/test_packages.py): the policy
# denies the matches of the rules its config names.
matched(rules, matches) := {
	"check": "sbom-attestation", "subject": "reg/app@sha256:11", "verdict": "pass", "findings": [],
	"facts": {
		"attestations_found": 1, "formats": ["cyclonedx"], "created": "2026-11-20T10:00:00Z", "package_rules": rules,
		"sboms": [sbom({"denied_packages": matches})],
	},
}

lodash_match := {"rule": "pkg:npm/lodash@<4.17.21", "package": "pkg:npm/lodash", "version": "4.17.20", "note": ""}

test_denied_package_matched_by_the_check if {
	msgs := verifier.deny with input as doc(matched(["pkg:npm/lodash@<4.17.21"], [lodash_match]), {"denied_packages": ["pkg:npm/lodash@<4.17.21"]})
	msgs == {"reg/app@sha256:11: SBOM lists denied package pkg:npm/lodash@4.17.20 (pattern pkg:npm/lodash@<4.17.21)"}
}

test_no_match_no_deny if {
	count(verifier.deny) == 0 with input as doc(matched(["pkg:npm/lodash@<4.17.20"], []), {"denied_packages": ["pkg:npm/lodash@<4.17.20"]})
}

# The webhook evaluates the rules of every webhook rule at once: a match of a rule this config does not name
# does not deny here.
test_match_of_a_rule_not_configured_here_is_ignored if {
	count(verifier.deny) == 0 with input as doc(matched(["pkg:npm/lodash@<4.17.21"], [lodash_match]), {})
	count(verifier.deny) == 0 with input as doc(matched(["pkg:npm/lodash@<4.17.21", "pkg:npm/x"], [lodash_match]), {"denied_packages": ["pkg:npm/x"]})
}

test_configured_rule_not_evaluated_denies if {
	msgs := verifier.deny with input as doc(passing([sbom({})]), {"denied_packages": ["pkg:npm/lodash"]})
	msgs == {"reg/app@sha256:11: package rule pkg:npm/lodash was not evaluated by the sbom-attestation check, so the SBOM cannot be shown free of it"}
	count(verifier.deny) == 1 with input as doc(matched(["pkg:npm/other"], []), {"denied_packages": ["pkg:npm/lodash"]})
}

test_uncomparable_version_denies_with_the_reason if {
	m := {"rule": "pkg:pypi/jose@<3", "package": "pkg:pypi/jose", "version": "", "note": "the SBOM gives no version"}
	msgs := verifier.deny with input as doc(matched(["pkg:pypi/jose@<3"], [m]), {"denied_packages": ["pkg:pypi/jose@<3"]})
	msgs == {"reg/app@sha256:11: SBOM lists package pkg:pypi/jose, which pattern pkg:pypi/jose@<3 denies unless its version is outside it: the SBOM gives no version"}
}

test_denied_license if {
	msgs := verifier.deny with input as doc(passing([sbom({})]), {"denied_licenses": ["gpl-3.0-only"]})
	msgs == {"reg/app@sha256:11: cyclonedx SBOM lists denied licence GPL-3.0-only"}
}

test_allowed_licenses if {
	msgs := verifier.deny with input as doc(passing([sbom({})]), {"allowed_licenses": ["MIT", "Apache-2.0"]})
	msgs == {"reg/app@sha256:11: cyclonedx SBOM lists licence GPL-3.0-only, not in allowed_licenses"}
	count(verifier.deny) == 0 with input as doc(passing([sbom({})]), {"allowed_licenses": ["MIT", "GPL-3.0-only"]})
}

test_sbom_digest_mismatch_denied if {
	s := sbom({"digest_match": false, "described_digests": ["sha256:99"]})
	msgs := verifier.deny with input as doc(passing([s]), {})
	msgs == {"reg/app@sha256:11: cyclonedx SBOM (referrer sha256:aa) describes sha256:99, not this image"}
	count(verifier.deny) == 0 with input as doc(passing([s]), {"digest_must_match": false})
}

test_sbom_digest_unknown_allowed if {
	count(verifier.deny) == 0 with input as doc(passing([sbom({"digest_match": null})]), {})
}

test_sbom_problems_warn if {
	s := sbom({"problems": ["creation time 'redacted' is not an RFC 3339 date-time"]})
	msgs := verifier.warn with input as doc(passing([s]), {})
	msgs == {"reg/app@sha256:11: cyclonedx SBOM (referrer sha256:aa) has problems: creation time 'redacted' is not an RFC 3339 date-time"}
}

test_invalid_sbom_warns_by_default_and_denies_when_required if {
	s := sbom({"valid": false, "validator": "cyclonedx-1.6-json-schema", "validation_problems": ["$.serialNumber: 1 is not of type 'string'"]})
	msg := "reg/app@sha256:11: cyclonedx 1.6 SBOM (referrer sha256:aa) is not valid (cyclonedx-1.6-json-schema): $.serialNumber: 1 is not of type 'string'"
	count(verifier.deny) == 0 with input as doc(passing([s]), {})
	verifier.warn == {msg} with input as doc(passing([s]), {})
	verifier.deny == {msg} with input as doc(passing([s]), {"require_valid": true})
}

test_valid_or_unvalidated_sbom_is_quiet if {
	count(verifier.warn) == 0 with input as doc(passing([sbom({"valid": true})]), {"require_valid": true})
	count(verifier.deny) == 0 with input as doc(passing([sbom({"valid": null})]), {"require_valid": true})
}

test_denied_license_catches_its_or_later_sibling if {
	# Denying GPL-2.0-only also denies GPL-2.0-or-later (it may be used as 2.0); MIT is not a sibling.
	or_later := sbom({"licenses": ["GPL-2.0+"], "license_ids": ["GPL-2.0-or-later"]})
	msgs := verifier.deny with input as doc(passing([or_later]), {"denied_licenses": ["GPL-2.0-only"]})
	msgs == {"reg/app@sha256:11: cyclonedx SBOM lists denied licence GPL-2.0-or-later"}
	only := sbom({"licenses": ["GPL-2.0-only"], "license_ids": ["GPL-2.0-only"]})
	count(verifier.deny) == 1 with input as doc(passing([only]), {"denied_licenses": ["GPL-2.0-or-later"]})
	count(verifier.deny) == 0 with input as doc(passing([only]), {"denied_licenses": ["LGPL-2.0-only", "GPL-3.0-only"]})
}
