"""Sigstore and cosign verification: pure functions of bytes plus a pinned trust root.

Bundles go through sigstore-python (``Verifier(trusted_root=...)``, never ``offline=True``); what it cannot
verify (legacy cosign ``.sig``/``.att`` layers, key-signed bundles, ``intoto/0.0.2`` entries) is ours, built on
cryptography + rfc8785. Importing this package is cheap: heavy modules are imported by their users.

Example::

    from verifier.sources.trust_roots import load_trust_root
    from verifier.sigstore.bundle import verify_bundle
    root = load_trust_root(None)                      # the pinned production trusted_root.json
    result = verify_bundle(bundle_bytes, trust=root, digest=sha256_digest, policy=identity_policy)
"""
