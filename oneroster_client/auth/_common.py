"""Small helpers shared by the auth plug-ins."""

from __future__ import annotations

import base64
import re
from urllib.parse import quote_plus

# Characters that would let a header value be split or forged.
UNSAFE_HEADER_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def basic_credentials(client_id: str, client_secret: str) -> str:
    """The ``client_secret_basic`` credentials: base64 of the form-encoded id and secret.

    RFC 6749 section 2.3.1 form-encodes both before joining them with ``:``, which also
    lets a secret outside Latin-1 travel in the header.
    """
    joined = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return base64.b64encode(joined.encode("ascii")).decode("ascii")
