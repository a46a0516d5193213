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

Rostering a district from OneRoster (see ``docs/buzz.md``)::

    from oneroster_client.buzz import RosterSettings, SyncHistory, sync

    settings = RosterSettings(parent_domain_id="12345", student_role="Student",
                              teacher_role="Teacher", notify=("it@example.org",))
    report = sync(oneroster, client, settings, validate_only=True,
                  history=SyncHistory("buzz-sync.sqlite"))
    print(report.to_text())

This package is not imported by ``import oneroster_client``.
"""

from __future__ import annotations

from oneroster_client.buzz._wire import NEVER, NO_END, NO_START
from oneroster_client.buzz.apply import ApplyResult, OperationOutcome, PlanHeldError, apply_plan
from oneroster_client.buzz.auth import BuzzAuth, BuzzJWTAuth, BuzzLogin, BuzzToken
from oneroster_client.buzz.batch import BatchFailure, BatchResult, BatchSuccess
from oneroster_client.buzz.client import BuzzClient
from oneroster_client.buzz.current import BuzzState, read_buzz_state
from oneroster_client.buzz.desired import (
    DesiredCourse,
    DesiredDomain,
    DesiredEnrollment,
    DesiredObserverLink,
    DesiredState,
    DesiredUser,
    SourceRecord,
    UserKind,
    ValidationIssue,
)
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
from oneroster_client.buzz.history import (
    LockInfo,
    RunRecord,
    SyncHistory,
    SyncHistoryError,
    SyncInProgressError,
)
from oneroster_client.buzz.mapping import map_roster
from oneroster_client.buzz.paging import BuzzListing
from oneroster_client.buzz.passback import (
    PassbackReport,
    PassbackSettings,
    SisProfile,
    pass_back_grades,
)
from oneroster_client.buzz.plan import Action, Operation, Plan, Ref, plan_roster
from oneroster_client.buzz.report import COUNT_WORDS, RecordFailure, RunReport, SyncReport
from oneroster_client.buzz.settings import (
    CourseRemoval,
    EnrollmentRemoval,
    ResolvedRoles,
    RosterSettings,
    TooSoon,
    UsernameScheme,
    UserspaceScheme,
    resolve_roles,
)
from oneroster_client.buzz.snapshot import RosterSnapshot, read_roster
from oneroster_client.buzz.sync import SyncReadError, SyncTooSoonError, sync
from oneroster_client.buzz.throttle import BuzzRetryPolicy

__all__ = [
    "COUNT_WORDS",
    "NEVER",
    "NO_END",
    "NO_START",
    "STUDENT_RIGHTS",
    "TEACHER_RIGHTS",
    "Action",
    "ApplyResult",
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
    "BuzzState",
    "BuzzThrottledError",
    "BuzzToken",
    "BuzzTransportError",
    "BuzzUser",
    "CopyAction",
    "CourseCopy",
    "CourseRemoval",
    "DesiredCourse",
    "DesiredDomain",
    "DesiredEnrollment",
    "DesiredObserverLink",
    "DesiredState",
    "DesiredUser",
    "Domain",
    "EnrollmentGradebook",
    "EnrollmentRemoval",
    "EnrollmentStatus",
    "EntityGradebook",
    "GradebookItem",
    "LockInfo",
    "Operation",
    "OperationOutcome",
    "PassbackReport",
    "PassbackSettings",
    "Plan",
    "PlanHeldError",
    "RecordFailure",
    "Ref",
    "ResolvedRoles",
    "Rights",
    "RightsGrant",
    "Role",
    "RosterSettings",
    "RosterSnapshot",
    "RunRecord",
    "RunReport",
    "Score",
    "SisProfile",
    "SourceRecord",
    "SyncHistory",
    "SyncHistoryError",
    "SyncInProgressError",
    "SyncReadError",
    "SyncReport",
    "SyncTooSoonError",
    "TooSoon",
    "UserKind",
    "UsernameScheme",
    "UserspaceScheme",
    "ValidationIssue",
    "apply_plan",
    "map_roster",
    "pass_back_grades",
    "plan_roster",
    "read_buzz_state",
    "read_roster",
    "resolve_roles",
    "sync",
]
