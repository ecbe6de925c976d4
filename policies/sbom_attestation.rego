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

# --- denied-package: purl patterns with optional version ranges -----------------------------------------
# "pkg:npm/lodash" (any version), "pkg:npm/lodash@<4.17.21", "pkg:maven/org.apache.logging.log4j/log4j-core@>=2.0.0,<2.17.1",
# "pkg:npm/*" (glob on the name). Scoped names may be written with "@" or "%40".

# Patterns are parsed once; exact names are looked up in the SBOM's package_versions, globs scan the names.
sbom_denied_patterns := [{"pattern": p, "name": parts[0], "range": parts[1], "glob": contains(parts[0], "*")} |
	some p in sbom_cfg.denied_packages
	parts := sbom_pattern_parts(p)
]

deny contains msg if {
	some result in sbom_results
	some sbom in result.facts.sboms
	some pat in sbom_denied_patterns
	some candidate in sbom_candidates(pat, object.get(sbom, "package_versions", {}))
	[name, version] := candidate
	sbom_range_matches(pat.range, version)
	msg := sprintf("%s: SBOM lists denied package %s@%s (pattern %s)", [result.subject, name, version, pat.pattern])
}

sbom_candidates(pat, index) := found if {
	not pat.glob
	found := {[pat.name, v] | some v in object.get(index, pat.name, [])}
}

sbom_candidates(pat, index) := found if {
	pat.glob
	found := {[name, v] |
		some name, versions in index
		glob.match(pat.name, [], name)
		some v in versions
	}
}

sbom_pattern_parts(pattern) := [name, range] if {
	parts := split(pattern, "@")
	count(parts) > 1
	last := parts[count(parts) - 1]
	regex.match(`^(<|>|=|!|[0-9])`, last)
	name := lower(replace(concat("@", array.slice(parts, 0, count(parts) - 1)), "%40", "@"))
	range := last
} else := [lower(replace(pattern, "%40", "@")), ""]

sbom_range_matches(range, _) if range == ""

sbom_range_matches(range, version) if {
	range != ""
	version != ""
	every constraint in split(range, ",") {
		sbom_version_satisfies(version, trim_space(constraint))
	}
}

sbom_version_satisfies(v, c) if {
	startswith(c, "<=")
	sbom_vcmp(v, substring(c, 2, -1)) <= 0
} else if {
	startswith(c, ">=")
	sbom_vcmp(v, substring(c, 2, -1)) >= 0
} else if {
	startswith(c, "!=")
	sbom_vcmp(v, substring(c, 2, -1)) != 0
} else if {
	startswith(c, "<")
	sbom_vcmp(v, substring(c, 1, -1)) < 0
} else if {
	startswith(c, ">")
	sbom_vcmp(v, substring(c, 1, -1)) > 0
} else if {
	startswith(c, "=")
	sbom_vcmp(v, trim_left(c, "=")) == 0
} else if {
	regex.match(`^[0-9]`, c)
	sbom_vcmp(v, c) == 0
}

# Version order without to_number (engines differ on "012"): dot/dash-separated parts, numeric parts by
# value (length, then text, leading zeros dropped), numeric before alphabetic, a missing part equals 0
# against a number and is *greater* than an alphabetic part (so 1.0.0-rc1 < 1.0.0).
sbom_vparts(v) := regex.split(`[.+_~:-]`, v)

sbom_vpart(parts, i) := parts[i] if i < count(parts)

else := ""

sbom_isnum(x) if regex.match(`^[0-9]+$`, x)

sbom_numnorm(x) := n if {
	t := trim_left(x, "0")
	t != ""
	n := t
} else := "0"

sbom_partcmp(x, y) := 0 if {
	x == y
} else := 0 if {
	sbom_isnum(x)
	sbom_isnum(y)
	sbom_numnorm(x) == sbom_numnorm(y)
} else := c if {
	sbom_isnum(x)
	sbom_isnum(y)
	c := sbom_numcmp(sbom_numnorm(x), sbom_numnorm(y))
} else := 0 if {
	x == ""
	sbom_isnum(y)
	sbom_numnorm(y) == "0"
} else := -1 if {
	x == ""
	sbom_isnum(y)
} else := 1 if {
	x == ""
} else := 0 if {
	y == ""
	sbom_isnum(x)
	sbom_numnorm(x) == "0"
} else := 1 if {
	y == ""
	sbom_isnum(x)
} else := -1 if {
	y == ""
} else := -1 if {
	sbom_isnum(x)
} else := 1 if {
	sbom_isnum(y)
} else := -1 if {
	x < y
} else := 1

sbom_numcmp(a, b) := -1 if {
	count(a) < count(b)
} else := 1 if {
	count(a) > count(b)
} else := -1 if {
	a < b
} else := 1 if {
	a > b
} else := 0

sbom_vcmp(a, b) := c if {
	pa := sbom_vparts(a)
	pb := sbom_vparts(b)
	n := max({count(pa), count(pb)})
	diffs := [d | some i in numbers.range(0, n - 1); d := sbom_partcmp(sbom_vpart(pa, i), sbom_vpart(pb, i)); d != 0]
	c := sbom_first_or_zero(diffs)
}

sbom_first_or_zero(diffs) := diffs[0] if count(diffs) > 0

else := 0

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
