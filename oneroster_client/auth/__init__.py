"""Authentication plug-ins for ``requests``: OAuth 1.0a signing, OAuth 2 client credentials, bearer.

Implements section 9 (Security) of the OneRoster 1.1 REST binding:

* :class:`OAuth1` signs every request with two-legged OAuth 1.0a (RFC 5849, section 9.1):
  a consumer key and secret, no token, ``HMAC-SHA256`` (or ``HMAC-SHA1`` for old servers).
* :class:`OAuth2ClientCredentials` obtains, caches and renews a bearer token with the OAuth 2
  client-credentials grant (RFC 6749 section 4.4; OneRoster section 9.2). Token requests
  never follow redirects and are retried after transient failures.
* :class:`BearerToken` sends a token that was issued out of band.

The functions :func:`percent_encode`, :func:`signature_base_string`, :func:`sign` and
:func:`parse_authorization_header` are pure, so a server (such as the loopback server in
``oneroster_client.testing``) can verify what :class:`OAuth1` produced.

authlib does the protocol work and is imported on first use, not by
``import oneroster_client``. Secrets, tokens and signatures never appear in a ``repr``, a
log record or an error message.
"""

from __future__ import annotations

from oneroster_client.auth.bearer import BearerToken
from oneroster_client.auth.oauth1 import (
    SIGNATURE_METHODS,
    OAuth1,
    SignatureMethod,
    parse_authorization_header,
    percent_encode,
    sign,
    signature_base_string,
)
from oneroster_client.auth.oauth2 import (
    ClientAuthMethod,
    OAuth2ClientCredentials,
    TokenProblem,
    TokenRefusedError,
)

__all__ = [
    "SIGNATURE_METHODS",
    "BearerToken",
    "ClientAuthMethod",
    "OAuth1",
    "OAuth2ClientCredentials",
    "SignatureMethod",
    "TokenProblem",
    "TokenRefusedError",
    "parse_authorization_header",
    "percent_encode",
    "sign",
    "signature_base_string",
]
