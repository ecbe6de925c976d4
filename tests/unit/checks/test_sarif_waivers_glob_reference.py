"""Differential test: `.trivyignore.yaml` path globs (checks/sarif_waivers.glob_match, Go doublestar semantics as
Trivy uses them) against wcmatch, an independent globstar matcher from PyPI, over every pattern of up to three
components built from globbing tokens and every path of up to three components.

The one expected difference is doublestar's own: a trailing `/**` also matches the directory itself (doublestar's
match tests list `{"a/**", "a", true, …}`); wcmatch matches only what is below it. Any other difference fails.
"""

from __future__ import annotations

import itertools

from wcmatch import glob

from verifier.checks.sarif_waivers import glob_match

FLAGS = glob.GLOBSTAR | glob.BRACE | glob.DOTGLOB | glob.FORCEUNIX
TOKENS = ("a", ".h", "**", "*", "?", "[ab]", "[!a]", "{a,x.*}")
COMPONENTS = ("a", "b", "x.txt", ".h")


def _joined(parts: tuple[str, ...], most: int) -> list[str]:
    return ["/".join(p) for n in range(1, most + 1) for p in itertools.product(parts, repeat=n)]


def _doublestar_only(pattern: str, path: str) -> bool:
    """A trailing `/**` whose prefix matches the whole path: doublestar says yes, wcmatch no."""
    return pattern.endswith("/**") and glob.globmatch(path, pattern[: -len("/**")], flags=FLAGS)


def test_glob_match_agrees_with_wcmatch() -> None:
    patterns, paths = _joined(TOKENS, 3), _joined(COMPONENTS, 3)
    differences = []
    expected = 0
    for pattern in patterns:
        for path in paths:
            ours, reference = glob_match(pattern, path), glob.globmatch(path, pattern, flags=FLAGS)
            if ours == reference:
                continue
            if ours and _doublestar_only(pattern, path):
                expected += 1
                continue
            differences.append((pattern, path, ours, reference))
    assert differences == []
    assert expected > 0  # the known difference is exercised, so the filter above is not vacuous
