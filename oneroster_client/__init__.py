"""oneroster-client: a typed, tolerant OneRoster 1.1 REST client.

Quick start::

    from oneroster_client import OneRosterClient, OAuth2ClientCredentials, F

    client = OneRosterClient(
        "https://sis.example.org/ims/oneroster/v1p1",
        auth=OAuth2ClientCredentials(token_url, client_id, client_secret),
    )
    for student in client.students.list(filter=F.status == "active"):
        print(student.sourced_id)

See the README for the two-command quick start and ``docs/`` for guides.
"""

from __future__ import annotations

__version__ = "0.1.0"

from oneroster_client.auth import BearerToken, OAuth1, OAuth2ClientCredentials
from oneroster_client.client import OneRosterClient, WriteResult
from oneroster_client.paging import Listing, Page, RecordError
from oneroster_client.query import F
from oneroster_client.retry import RetryPolicy

__all__ = [
    "BearerToken",
    "F",
    "Listing",
    "OAuth1",
    "OAuth2ClientCredentials",
    "OneRosterClient",
    "Page",
    "RecordError",
    "RetryPolicy",
    "WriteResult",
    "__version__",
]
