"""Library advice, said the command line's way.

The library's messages tell a Python caller what to pass (``allow_insecure_http=True``,
``client_auth='body'``, ``approve='plan-…'``). The command shows the same messages, so
each such piece of advice is rewritten here as the flag, environment variable or settings
file key that does the same. Only these exact phrases are rewritten: the rest of a
message, and anything a server said in it, is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["PYTHON_ADVICE", "for_the_command_line"]


def _scopes(match: re.Match[str]) -> str:
    listed = " ".join(re.findall(r"'([^']*)'", match[1]))
    return f"check --scopes '{listed}' (or ONEROSTER_SCOPES)"


_Replacement = str | Callable[[re.Match[str]], str]

PYTHON_ADVICE: tuple[tuple[re.Pattern[str], _Replacement], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        # URL checks (oneroster_client._urls).
        (
            r"pass allow_insecure_http=True",
            "pass --allow-insecure-http (or set ONEROSTER_ALLOW_INSECURE_HTTP=true)",
        ),
        (
            r"pass them to the auth object",
            "set them with --client-id and ONEROSTER_CLIENT_SECRET (or the config file)",
        ),
        (r"pass it to the auth object", "set it with ONEROSTER_CLIENT_SECRET (or the config file)"),
        # CSV packages (oneroster_client.csv_package).
        (r"pass overwrite=True", "pass --overwrite"),
        # OAuth 2 token endpoint refusals.
        (
            r"check client_id and client_secret",
            "check the client id (--client-id, ONEROSTER_CLIENT_ID) and the secret "
            "(ONEROSTER_CLIENT_SECRET)",
        ),
        (
            r"client_auth='(basic|body)'",
            r"--client-auth \1 (or ONEROSTER_CLIENT_AUTH=\1, client_auth in [sis])",
        ),
        (r"check scopes=(\[[^\]]*\])", _scopes),
        (
            r"pass scopes=\[\.\.\.\] with the scopes",
            "set --scopes (or ONEROSTER_SCOPES) to the scopes, separated by spaces,",
        ),
        (r"([Ss])et token_url to", r"\1et --token-url (or ONEROSTER_TOKEN_URL) to"),
        (r"check that token_url is", "check that --token-url (ONEROSTER_TOKEN_URL) is"),
        (r"check token_url and", "check --token-url (ONEROSTER_TOKEN_URL) and"),
        # API refusals (oneroster_client.status).
        (
            r"check the key/client_id and secret",
            "check the client id (--client-id) and the secret (ONEROSTER_CLIENT_SECRET)",
        ),
        (
            r"pass the one the provider documents to OAuth1 \(signature_method='HMAC-SHA256', "
            r"the OneRoster 1\.1 default, or 'HMAC-SHA1'\)",
            "the command signs with HMAC-SHA256, the OneRoster 1.1 default; for a provider "
            "that wants another method, use OAuth 2 (--token-url) or an access token "
            "(ONEROSTER_ACCESS_TOKEN)",
        ),
        (
            r", or allow the retry policy longer waits \(backoff_max, deadline\)",
            " and run the command again later",
        ),
        (
            r"fields=(\S+) leaves out",
            r"--fields \1 leaves out",
        ),
        (
            r"or list with fields= and read listing\.dicts\(\)"
            r"(?: \(for this record: .*?\.dicts\(\)\))?",
            "or read the record with 'oneroster list', whose --fields may leave fields out",
        ),
        (r"check the access token:", "check the access token (ONEROSTER_ACCESS_TOKEN):"),
        (r"port of token_url", "port of --token-url (ONEROSTER_TOKEN_URL)"),
        (r"port of the base URL", "port of the base URL (--base-url, ONEROSTER_BASE_URL)"),
        (r"port of the Buzz URL", "port of the Buzz URL (--buzz-url, ONEROSTER_BUZZ_URL)"),
        (
            r"the CA bundle or the session's verify setting",
            "the CA bundle (REQUESTS_CA_BUNDLE)",
        ),
        # Listing options (oneroster_client.client).
        (r"order_by needs sort", "--order needs --sort"),
        # Skyward settings and diagnosis.
        (r"use auth='auto' or 'oauth1'", "use --auth auto or --auth oauth1"),
        (r"\bauth='(auto|oauth2|oauth1|token)'", r"--auth \1"),
        (
            r"\(passback=True, or SKYWARD_PASSBACK=1\)",
            "('oneroster check --passback'; 'oneroster passback' always does)",
        ),
        # Buzz.
        (
            r"check user_id, key_id and",
            "check --buzz-user-id (ONEROSTER_BUZZ_USER_ID), --buzz-key-id "
            "(ONEROSTER_BUZZ_KEY_ID) and",
        ),
        (
            r"approve=True or approve='([^']*)'",
            r"--approve \1 (or --approve alone, for whatever plan is held)",
        ),
        (r"approve='([^']*)'", r"--approve \1"),
        (
            r"check parent_domain_id, the id of the district's domain in Buzz",
            "check the district's Buzz domain id: --domain, ONEROSTER_BUZZ_DOMAIN, or "
            "parent_domain_id in [buzz] (or [roster]/[passback]) of the config file",
        ),
        (
            r"Check base_url \(and token_url, when set\)",
            "Check --buzz-url (ONEROSTER_BUZZ_URL, base_url in [buzz]) and --buzz-token-url "
            "(ONEROSTER_BUZZ_TOKEN_URL) when set",
        ),
        (r"set cascade_deletes to", "set cascade_deletes = true in [roster] to"),
        (r"set delete_domains to", "set delete_domains = true in [roster] to"),
        (r"set too_soon to 'warn'", 'set too_soon = "warn" in [roster]'),
    )
)
"""Each pattern of Python advice in library messages, and what it becomes."""


def for_the_command_line(message: str) -> str:
    """A library message with its Python advice given as the command's flags or variables."""
    for pattern, replacement in PYTHON_ADVICE:
        message = pattern.sub(replacement, message)
    return message
