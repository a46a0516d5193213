"""Skyward (Qmlativ, SMS 2.0) adapter for oneroster-client.

From the settings a district admin enters (Buzz's SIS settings card: SIS name, API Base
URL, Key, Secret, optional API Token URL, or an Access token) to a working, Skyward-aware
:class:`~oneroster_client.OneRosterClient`::

    from skyward_adapter import SkywardSettings, check_connection, connect, quirk_report

    settings = SkywardSettings.from_env()          # SKYWARD_BASE_URL, SKYWARD_KEY, ...
    print(check_connection(settings))              # what works, and hints for what does not
    with connect(settings) as client:
        teachers = client.teachers.list().all()
        print(quirk_report(client))                # what Skyward sent that had to be repaired

Recording scrubbed cassettes for test suites lives in :mod:`skyward_adapter.recording`
(needs ``vcrpy``); Skyward-like loopback servers in :mod:`skyward_adapter.testing`.
"""

from __future__ import annotations

from skyward_adapter.auth import SkywardOAuth2, build_auth
from skyward_adapter.connection import connect, default_retry_policy
from skyward_adapter.diagnostics import Check, ConnectionReport, check_connection
from skyward_adapter.quirks import QuirkEntry, QuirkReport, SkywardQuirks, quirk_report
from skyward_adapter.settings import DEFAULT_SCOPES, PASSBACK_SCOPES, SkywardSettings

__all__ = [
    "DEFAULT_SCOPES",
    "PASSBACK_SCOPES",
    "Check",
    "ConnectionReport",
    "QuirkEntry",
    "QuirkReport",
    "SkywardOAuth2",
    "SkywardQuirks",
    "SkywardSettings",
    "build_auth",
    "check_connection",
    "connect",
    "default_retry_policy",
    "quirk_report",
]
