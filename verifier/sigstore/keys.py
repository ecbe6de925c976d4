"""Public keys and raw signature checks: ECDSA P-256/P-384/P-521, Ed25519, RSA (PKCS#1 v1.5 and PSS)."""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey

_CURVE_HASH: dict[str, type[hashes.HashAlgorithm]] = {
    "secp256r1": hashes.SHA256,
    "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512,
}
MIN_RSA_BITS = 2048


def _check(key: object) -> PublicKey:
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in _CURVE_HASH:
            raise ValueError(f"unsupported elliptic curve {key.curve.name}")
        return key
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise ValueError(
                f"RSA key of {key.key_size} bits is too small (minimum {MIN_RSA_BITS})"
            )
        return key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    raise ValueError(f"unsupported key type {type(key).__name__}")


def load_pem_public_key(data: bytes) -> PublicKey:
    """A PEM ``PUBLIC KEY`` (SubjectPublicKeyInfo). ValueError when it is not one of the supported types."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"not a PEM public key: {exc}") from exc
    return _check(key)


def load_der_public_key(data: bytes) -> PublicKey:
    """A DER SubjectPublicKeyInfo."""
    try:
        key = serialization.load_der_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"not a DER public key: {exc}") from exc
    return _check(key)


def key_id(key: PublicKey) -> bytes:
    """SHA-256 of the DER SubjectPublicKeyInfo."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).digest()


def same_key(a: PublicKey, b: PublicKey) -> bool:
    """Whether two keys are the same key (compared by SPKI)."""
    return key_id(a) == key_id(b)


def _hash_choices(key: PublicKey) -> list[type[hashes.HashAlgorithm]]:
    # cosign signs with SHA-256 whatever the curve unless told otherwise; sigstore-go picks the curve's hash.
    if isinstance(key, ec.EllipticCurvePublicKey):
        preferred = _CURVE_HASH[key.curve.name]
        return [preferred] if preferred is hashes.SHA256 else [preferred, hashes.SHA256]
    return [hashes.SHA256]


def verify_signature(key: PublicKey, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` over ``data`` verifies with ``key``."""
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
            return True
        for algo in _hash_choices(key):
            if _verify_hashed(key, signature, data, algo(), prehashed=False):
                return True
        return False
    except InvalidSignature:
        return False


def verify_prehashed(
    key: PublicKey, signature: bytes, digest: bytes, algorithm: hashes.HashAlgorithm
) -> bool:
    """Whether ``signature`` verifies over a message of which only ``digest`` is known.

    Ed25519 signs the message itself, so a digest alone can never verify with it (returns False).
    """
    if isinstance(key, ed25519.Ed25519PublicKey):
        return False
    return _verify_hashed(key, signature, digest, algorithm, prehashed=True)


def _verify_hashed(
    key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    signature: bytes,
    data: bytes,
    algo: hashes.HashAlgorithm,
    *,
    prehashed: bool,
) -> bool:
    chosen: hashes.HashAlgorithm | utils.Prehashed = utils.Prehashed(algo) if prehashed else algo
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(chosen))
            return True
        try:
            key.verify(signature, data, padding.PKCS1v15(), chosen)
            return True
        except InvalidSignature:
            key.verify(
                signature,
                data,
                padding.PSS(mgf=padding.MGF1(algo), salt_length=padding.PSS.AUTO),
                chosen,
            )
            return True
    except InvalidSignature:
        return False
