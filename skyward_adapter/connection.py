"""From settings to a working client: auth choice, Skyward retry policy, quirk repairs.

:func:`connect` builds a :class:`~oneroster_client.OneRosterClient` for a Skyward district:

* the auth plug-in the settings call for (:func:`skyward_adapter.auth.build_auth`);
* a retry policy for Skyward (429, 502, 503, 504 and connection errors, with backoff),
  for API and token requests alike;
* for OAuth 2, renewal of the token after 401, 403 or 500: Skyward has been seen to answer
  an expired token with 403 (rqmlativ) or 500 (NIM's ``treat500AsAuthError``), so the
  client fetches a fresh token once and repeats the call before giving up;
* the page size from the settings;
* with ``settings.passback``, tokens requested with the gradebook scopes as well, so
  ``client.line_items.put(...)`` and ``client.results.put(...)`` are allowed (without
  it, a Skyward token carries read scopes only and gradebook PUTs are refused with 403);
* the quirk repairs of :mod:`skyward_adapter.quirks`.
"""

from __future__ import annotations

from typing import Any

import requests

from oneroster_client import __version__ as client_version
from oneroster_client.client import OneRosterClient
from oneroster_client.retry import RetryPolicy
from skyward_adapter.auth import ClientAuth, build_auth
from skyward_adapter.quirks import SkywardQuirks
from skyward_adapter.settings import SkywardSettings

__all__ = ["OAUTH2_RENEW_ON", "USER_AGENT", "connect", "default_retry_policy"]

USER_AGENT = f"oneroster-client/{client_version} skyward-adapter"
"""The ``User-Agent`` the adapter sends."""

OAUTH2_RENEW_ON = frozenset({401, 403, 500})
"""Statuses after which an OAuth 2 token is renewed and the call repeated once."""


def default_retry_policy(**overrides: Any) -> RetryPolicy:
    """The retry policy for Skyward: 429/502/503/504 and connection errors, patient backoff.

    Args:
        overrides: :class:`~oneroster_client.RetryPolicy` fields to change, e.g.
            ``sleep=lambda s: None`` in tests.
    """
    options: dict[str, Any] = {
        "max_attempts": 5,
        "backoff_base": 1.0,
        "backoff_max": 60.0,
        "deadline": 300.0,
        "retry_statuses": frozenset({429, 502, 503, 504}),
        "retry_on_connection_errors": True,
    }
    options.update(overrides)
    return RetryPolicy(**options)


def connect(
    settings: SkywardSettings,
    *,
    retry: RetryPolicy | None = None,
    session: requests.Session | None = None,
    timeout: float = 60.0,
    max_workers: int = 1,
    strict: bool = False,
    client_auth: ClientAuth = "auto",
    quirks: SkywardQuirks | None = None,
) -> OneRosterClient:
    """A OneRoster client for the district the settings describe.

    Nothing is sent until the first call; use :func:`skyward_adapter.check_connection` to
    test the settings.

    Args:
        settings: validated :class:`SkywardSettings`.
        retry: the retry policy for API and OAuth 2 token requests;
            :func:`default_retry_policy` when omitted.
        session: a ``requests.Session`` for API and token requests (proxies, TLS).
        timeout: seconds per request.
        max_workers: pages fetched at once when the total is known.
        strict: read records strictly (unknown fields are errors).
        client_auth: how OAuth 2 credentials are sent: ``"auto"`` (HTTP Basic, then form
            fields if Basic is refused), ``"basic"`` or ``"body"``.
        quirks: the quirk repairs to install; a new :class:`SkywardQuirks` by default.
            Read what they changed with :func:`skyward_adapter.quirk_report`.

    Returns:
        The client; close it (or use it as a context manager) when done.
    """
    policy = retry if retry is not None else default_retry_policy()
    auth = build_auth(
        settings, timeout=timeout, session=session, client_auth=client_auth, retry=policy
    )
    renew_on: frozenset[int] = OAUTH2_RENEW_ON if settings.auth_mode == "oauth2" else frozenset()
    return OneRosterClient(
        settings.oneroster_base_url,
        auth=auth,
        timeout=timeout,
        retry=policy,
        session=session,
        page_size=settings.page_size,
        max_workers=max_workers,
        strict=strict,
        allow_insecure_http=settings.allow_insecure_http,
        user_agent=USER_AGENT,
        renew_auth_on=renew_on,
        preprocessor=quirks if quirks is not None else SkywardQuirks(),
    )
