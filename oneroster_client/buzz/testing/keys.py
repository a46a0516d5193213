"""RSA keys and JWT client assertions for tests of Buzz's OAuth 2 client credentials."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import RSAKey

__all__ = ["default_app_key", "generate_key", "make_assertion"]


def generate_key(bits: int = 2048) -> tuple[str, str]:
    """A new RSA key pair as ``(private PEM, public PEM)`` (PKCS#8 and SubjectPublicKeyInfo)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    return private, public


@functools.cache
def default_app_key() -> tuple[str, str]:
    """One key pair per process for the built-in application identity (keys are slow to make)."""
    return generate_key()


def make_assertion(
    private_key_pem: str,
    user_id: str,
    audience: str,
    *,
    key_id: str | None = None,
    lifetime: float = 60.0,
    jti: str | None = None,
    algorithm: str = "RS256",
    **claims: Any,
) -> str:
    """A signed JWT client assertion (RFC 7523 section 3) as Buzz expects it.

    Args:
        private_key_pem: the signing key (for ``HS256``, the shared secret).
        user_id: ``iss`` and ``sub``.
        audience: ``aud``, the token URL.
        key_id: the ``kid`` header, if any.
        lifetime: seconds from now to ``exp`` (negative for an expired assertion).
        jti: the token id; random when omitted ("" sends an empty one).
        algorithm: the JWS algorithm (an RSA one: the server accepts only ``RS256``).
        **claims: extra or overriding claims (``None`` removes a claim).
    """
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": user_id,
        "sub": user_id,
        "aud": audience,
        "iat": now,
        "exp": now + int(lifetime),
        "jti": uuid.uuid4().hex if jti is None else jti,
    }
    payload.update(claims)
    payload = {name: value for name, value in payload.items() if value is not None}
    header: dict[str, Any] = {"alg": algorithm, "typ": "JWT"}
    if key_id is not None:
        header["kid"] = key_id
    if algorithm.startswith("HS"):
        # Forged on purpose by tests (e.g. HMAC keyed with the public key): JOSE libraries
        # rightly refuse to build such tokens, so it is assembled by hand.
        return _hmac_token(header, payload, private_key_pem, algorithm)
    return jwt.encode(header, payload, RSAKey.import_key(private_key_pem), algorithms=[algorithm])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _hmac_token(
    header: dict[str, Any], payload: dict[str, Any], secret: str, algorithm: str
) -> str:
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[algorithm]
    signing_input = ".".join(
        _b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, payload)
    )
    signature = hmac.new(secret.encode(), signing_input.encode("ascii"), digest).digest()
    return f"{signing_input}.{_b64(signature)}"
