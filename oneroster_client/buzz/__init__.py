"""Agilix Buzz (DLAP API) client: typed entities, per-item batch results, Agilix's retries.

Quick start::

    from oneroster_client.buzz import BuzzClient, BuzzJWTAuth

    client = BuzzClient(
        "https://backgroundapi.agilixbuzz.com",
        auth=BuzzJWTAuth(token_url, user_id="12345", private_key=pem, key_id="sync-1"),
        user_agent="district-sync/1.0 (Example USD; it@example.org)",
    )
    result = client.create_users(users)
    for failure in result.failed:
        print(failure.index, failure.code, failure.message)

This package is not imported by ``import oneroster_client``.
"""

from __future__ import annotations

from oneroster_client.buzz._wire import NEVER, NO_END, NO_START
from oneroster_client.buzz.auth import BuzzAuth, BuzzJWTAuth, BuzzLogin, BuzzToken
from oneroster_client.buzz.batch import BatchFailure, BatchResult, BatchSuccess
from oneroster_client.buzz.client import BuzzClient
from oneroster_client.buzz.entities import (
    BuzzCourse,
    BuzzEnrollment,
    BuzzEntity,
    BuzzUser,
    CourseCopy,
    Domain,
    GradebookItem,
    RightsGrant,
    Role,
    Score,
)
from oneroster_client.buzz.enums import (
    STUDENT_RIGHTS,
    TEACHER_RIGHTS,
    CopyAction,
    EnrollmentStatus,
    Rights,
)
from oneroster_client.buzz.errors import (
    BuzzAuthenticationError,
    BuzzCommandError,
    BuzzError,
    BuzzHTTPError,
    BuzzPagingError,
    BuzzResponseError,
    BuzzThrottledError,
    BuzzTransportError,
)
from oneroster_client.buzz.gradebook import EnrollmentGradebook, EntityGradebook
from oneroster_client.buzz.paging import BuzzListing
from oneroster_client.buzz.throttle import BuzzRetryPolicy

__all__ = [
    "NEVER",
    "NO_END",
    "NO_START",
    "STUDENT_RIGHTS",
    "TEACHER_RIGHTS",
    "BatchFailure",
    "BatchResult",
    "BatchSuccess",
    "BuzzAuth",
    "BuzzAuthenticationError",
    "BuzzClient",
    "BuzzCommandError",
    "BuzzCourse",
    "BuzzEnrollment",
    "BuzzEntity",
    "BuzzError",
    "BuzzHTTPError",
    "BuzzJWTAuth",
    "BuzzListing",
    "BuzzLogin",
    "BuzzPagingError",
    "BuzzResponseError",
    "BuzzRetryPolicy",
    "BuzzThrottledError",
    "BuzzToken",
    "BuzzTransportError",
    "BuzzUser",
    "CopyAction",
    "CourseCopy",
    "Domain",
    "EnrollmentGradebook",
    "EnrollmentStatus",
    "EntityGradebook",
    "GradebookItem",
    "Rights",
    "RightsGrant",
    "Role",
    "Score",
]
