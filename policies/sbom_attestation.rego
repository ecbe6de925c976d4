# sbom-attestation: the image must carry a verified SBOM attestation, and the SBOM must be acceptable.
# Signatures, subjects and SBOM parsing are verified in Python; this policy decides on the verified facts.
# Config: input.config["sbom-attestation"] (see docs/checks/sbom-attestation.md); time only from input.now.
package verifier

sbom_defaults := {
	"required": true,
	"max_age": "",
	"required_format": "",
	"denied_packages": [],
	"denied_licenses": [],
	"allowed_licenses": [],
	"digest_must_match": true,
	"require_valid": false,
}

sbom_results contains result if {
	some result in input.results
	result.check == "sbom-attestation"
}

sbom_cfg := check_config("sbom-attestation", sbom_defaults)

# --- sbom-missing: no SBOM attestation verified for the image ------------------------------------------

sbom_rejections(result) := concat("; ", [r.message | some r in object.get(result.facts, "rejected", [])])

sbom_missing_msg(result) := msg if {
	count(sbom_rejections(result)) > 0
	msg := sprintf("%s: no verified SBOM attestation (%d found; rejected: %s)", [result.subject, result.facts.attestations_found, sbom_rejections(result)])
} else := msg if {
	msg := sprintf("%s: no verified SBOM attestation (%d attestation(s) found, none an SBOM for this image)", [result.subject, result.facts.attestations_found])
}

deny contains msg if {
	some result in sbom_results
	result.verdict == "fail"
	sbom_cfg.required
	msg := sbom_missing_msg(result)
}

warn contains msg if {
	some result in sbom_results
	result.verdict == "fail"
	not sbom_cfg.required
	msg := sbom_missing_msg(result)
}

# An attestation rejected next to an accepted one: allowed, but said.
warn contains msg if {
	some result in sbom_results
	result.verdict == "pass"
	some r in object.get(result.facts, "rejected", [])
	msg := sprintf("%s: attestation rejected: %s", [result.subject, r.message])
}

warn contains msg if {
	some result in sbom_results
	some sbom in result.facts.sboms
	count(object.get(sbom, "problems", [])) > 0
	msg := sprintf("%s: %s SBOM (%s) has problems: %s", [result.subject, sbom.format, sbom.source, concat("; ", array.slice(sbom.problems, 0, 5))])
}

# --- sbom-too-old: the newest SBOM is older than max_age (a Go duration, e.g. "720h") -----------------

deny contains msg if {
	some result in sbom_results
	result.verdict == "pass"
	sbom_cfg.max_age != ""
	not is_string(object.get(result.facts, "created", null))
	msg := sprintf("%s: SBOM has no creation time, so its age (max_age %s) cannot be checked", [result.subject, sbom_cfg.max_age])
}

deny contains msg if {
	some result in sbom_results
	result.verdict == "pass"
	sbom_cfg.max_age != ""
	is_string(object.get(result.facts, "created", null))
	created := time.parse_rfc3339_ns(result.facts.created)
	age := time.parse_rfc3339_ns(input.now) - created
	age > time.parse_duration_ns(sbom_cfg.max_age)
	msg := sprintf("%s: newest SBOM was created %s, older than max_age %s", [result.subject, result.facts.created, sbom_cfg.max_age])
}

# --- sbom-format: required_format ("spdx" | "cyclonedx") ------------------------------------------------

deny contains msg if {
	some result in sbom_results
	result.verdict == "pass"
	sbom_cfg.required_format != ""
	not sbom_cfg.required_format in result.facts.formats
	msg := sprintf("%s: no verified %s SBOM (found: %s)", [result.subject, sbom_cfg.required_format, concat(", ", result.facts.formats)])
}

# --- sbom-invalid: the SBOM fails its schema (CycloneDX) or structural (SPDX) validation ----------------

sbom_invalid_msg(result, sbom) := sprintf("%s: %s %s SBOM (%s) is not valid (%s): %s", [result.subject, sbom.format, sbom.spec_version, sbom.source, sbom.validator, concat("; ", array.slice(sbom.validation_problems, 0, 3))])

deny contains msg if {
	some result in sbom_results
	sbom_cfg.require_valid
	some sbom in result.facts.sboms
	object.get(sbom, "valid", null) == false
	msg := sbom_invalid_msg(result, sbom)
}

warn contains msg if {
	some result in sbom_results
	not sbom_cfg.require_valid
	some sbom in result.facts.sboms
	object.get(sbom, "valid", null) == false
	msg := sbom_invalid_msg(result, sbom)
}

# --- sbom-digest-mismatch: the SBOM says it describes another image -------------------------------------

deny contains msg if {
	some result in sbom_results
	sbom_cfg.digest_must_match
	some sbom in result.facts.sboms
	sbom.digest_match == false
	msg := sprintf("%s: %s SBOM (%s) describes %s, not this image", [result.subject, sbom.format, sbom.source, concat(", ", sbom.described_digests)])
}

# --- denied-package: package rules, matched by the check with each ecosystem's rules ---------------------
# The check (verifier/sbom/packages.py) reads "pkg:npm/lodash@<4.17.21", "pkg:golang/golang.org/x/net@vers:golang/<0.17.0",
# "pkg:pypi/python-jose", "openssl@1:1.1.1n-0+deb11u3", ... and lists each SBOM's matches in denied_packages
# (names normalised per the purl spec, versions in the ecosystem's order). It evaluates the rules of every
# config that may apply; this policy denies the matches of the rules its own config names, and denies when
# one of them was not evaluated (an SBOM cannot be shown free of a rule nobody checked).

sbom_denied_rules := {r | some r in sbom_cfg.denied_packages}

sbom_denied_msg(result, m) := msg if {
	m.note == ""
	msg := sprintf("%s: SBOM lists denied package %s@%s (pattern %s)", [result.subject, m.package, m.version, m.rule])
} else := msg if {
	msg := sprintf("%s: SBOM lists package %s%s, which pattern %s denies unless its version is outside it: %s", [result.subject, m.package, sbom_at_version(m.version), m.rule, m.note])
}

sbom_at_version(v) := "" if v == ""

else := sprintf("@%s", [v])

deny contains msg if {
	some result in sbom_results
	some sbom in result.facts.sboms
	some m in object.get(sbom, "denied_packages", [])
	m.rule in sbom_denied_rules
	msg := sbom_denied_msg(result, m)
}

deny contains msg if {
	some result in sbom_results
	result.verdict == "pass"
	evaluated := {r | some r in object.get(result.facts, "package_rules", [])}
	some rule in sbom_denied_rules
	not rule in evaluated
	msg := sprintf("%s: package rule %s was not evaluated by the sbom-attestation check, so the SBOM cannot be shown free of it", [result.subject, rule])
}

# --- denied-license / license-not-allowed: identifiers inside the SBOM's licence expressions ------------
# Both sides arrive normalised to current SPDX ids (verifier.sbom.licenses). A denied licence also denies
# its -only / -or-later sibling: denying GPL-2.0-only catches GPL-2.0-or-later (which may be used as 2.0).

license_family(id) := trim_suffix(trim_suffix(lower(id), "-only"), "-or-later")

deny contains msg if {
	some result in sbom_results
	some sbom in result.facts.sboms
	some id in sbom.license_ids
	some denied in sbom_cfg.denied_licenses
	license_family(id) == license_family(denied)
	msg := sprintf("%s: %s SBOM lists denied licence %s", [result.subject, sbom.format, id])
}

deny contains msg if {
	some result in sbom_results
	count(sbom_cfg.allowed_licenses) > 0
	allowed := {lower(a) | some a in sbom_cfg.allowed_licenses}
	some sbom in result.facts.sboms
	some id in sbom.license_ids
	not lower(id) in allowed
	msg := sprintf("%s: %s SBOM lists licence %s, not in allowed_licenses", [result.subject, sbom.format, id])
}
