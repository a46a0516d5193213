"""A loopback OneRoster 1.1 server: real HTTP on 127.0.0.1, faithful by default, faulty on request.

It serves all 61 operations of :mod:`oneroster_client.endpoints` from a :class:`District`
with the spec's envelopes, complete GUIDRefs (``href``, ``sourcedId``, ``type``), paging
(``limit``/``offset``, ``X-Total-Count``, ``Link``), filtering (section 8.3 grammar,
strictly), ``sort``/``orderBy``, ``fields``, gradebook PUT (validated as a strict SIS
does, with optional passback limits) and DELETE, ``statusInfoSet``
errors and warnings, OAuth 1.0a HMAC-SHA256/SHA1 signature verification (nonce and
timestamp checks) and OAuth 2 client-credentials tokens with scopes. Malformed requests
(bad ``Content-Length``, oversized or deeply nested bodies, requests that stall) get a
4xx answer or a closed connection, never a hung handler. :class:`Faults` injects what
real servers do wrong: latency, 429 with ``Retry-After``, 5xx bursts, malformed or
truncated JSON, capped pages, lying totals, skipping or overlapping next links, ignored
offsets, reordered records, 200 answers that report failure, relative or foreign links,
slow or cut bodies, early token expiry and vendor quirks.

The package is split by job: :mod:`.http` (connections, limits), :mod:`.auth` (OAuth),
:mod:`.routes` (operations, queries, paging), :mod:`.store` (data and relationships),
:mod:`.render` (records as sent), :mod:`.faults` (fault modes) and :mod:`.app` (the
server object).

Usage::

    with OneRosterServer(generate_district(students=100)) as server:
        client = OneRosterClient(server.base_url, auth=server.oauth2())
"""

from oneroster_client.testing.server.app import OneRosterServer, ServedRequest
from oneroster_client.testing.server.auth import ALL_SCOPES
from oneroster_client.testing.server.faults import Faults
from oneroster_client.testing.server.gradebook import SCORE_STATUSES, GradebookRules

__all__ = [
    "ALL_SCOPES",
    "SCORE_STATUSES",
    "Faults",
    "GradebookRules",
    "OneRosterServer",
    "ServedRequest",
]
