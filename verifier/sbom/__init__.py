"""SBOMs: reading SPDX and CycloneDX documents and the in-toto statements that carry them."""
