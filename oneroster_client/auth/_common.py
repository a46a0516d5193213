"""Small helpers shared by the auth plug-ins."""

from __future__ import annotations

import base64
import re
from urllib.parse import quote_plus, unquote

# Characters that would let a header value be split or forged.
UNSAFE_HEADER_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def basic_credentials(client_id: str, client_secret: str) -> str:
    """The ``client_secret_basic`` credentials: base64 of the form-encoded id and secret.

    RFC 6749 section 2.3.1 form-encodes both before joining them with ``:``, which also
    lets a secret outside Latin-1 travel in the header.
    """
    joined = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return base64.b64encode(joined.encode("ascii")).decode("ascii")


_AUTH_PARAM = re.compile(r'\s*([^\s=,]+)\s*=\s*(?:"([^"]*)"|([^\s,"]*))\s*(?:,|$)')


def parse_authorization_header(value: str) -> dict[str, str]:
    """Decode an ``Authorization: OAuth ...`` header value into its parameters.

    Parameter values are percent-decoded (RFC 5849 section 3.5.1), except ``realm``, which
    is a plain quoted string.

    Args:
        value: the header value, e.g. ``'OAuth oauth_consumer_key="k", oauth_nonce="n"'``.

    Returns:
        The parameters by name, decoded.

    Raises:
        ValueError: the value does not use the ``OAuth`` scheme or is malformed.
    """
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "oauth":
        raise ValueError("not an OAuth 1 Authorization header: the scheme must be 'OAuth'")
    params: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _AUTH_PARAM.match(rest, position)
        if match is None or match.end() == position:
            raise ValueError(
                f"malformed OAuth Authorization header near character {position}: expected "
                'name="value" pairs separated by commas'
            )
        name = match.group(1)
        raw = match.group(2) if match.group(2) is not None else match.group(3)
        params[name] = raw if name == "realm" else unquote(raw)
        position = match.end()
    return params
