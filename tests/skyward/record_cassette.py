"""Record ``tests/cassettes/skyward_qmlativ.yaml``: a Skyward-like session, scrubbed.

The session runs against the loopback OneRoster server in Skyward-like mode: a Qmlativ
base path (``/springisdAPI/ims/oneroster/v1p1``), sourcedIds with a district prefix and
Skyward's quirks planted (see ``skyward_adapter.testing.skyward_like_district``). It
records an OAuth 2 token request, ``/orgs``, ``/users`` (with personal data, three pages),
``/enrollments``, ``/classes`` and one ``PUT /lineItems/{id}``, through
``skyward_adapter.recording.record_session``: credentials are removed; personal data and
every other free-text value (names, titles, locations, vendor fields) are pseudonymised
with a fresh random key, which is not stored.

Re-run from the project root (the test ``test_skyward_cassette.py`` must keep the same
constants)::

    .venv/bin/python tests/skyward/record_cassette.py            # writes the default path
    .venv/bin/python tests/skyward/record_cassette.py other.yaml # or somewhere else

Every run gives different pseudonyms (new key) and a different loopback port; the
records, ids and quirks are the same.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from oneroster_client import RetryPolicy
from oneroster_client.endpoints import SCOPE_PREFIX
from oneroster_client.models import GUIDRef, LineItem
from skyward_adapter.recording import record_session
from skyward_adapter.testing import loopback_settings, skyward_like_district, skyward_like_server

# test_skyward_cassette.py regenerates the district from these to know the original data.
SEED = 2025
STUDENTS = 24
CLASSES_PER_STUDENT = 3
PAGE_SIZE = 25
KEY = "springisd-integration"
SECRET = "loopback-only-secret-7c41d9e2b8"  # a loopback credential, never a real one
LINE_ITEM_ID = "ISD123-li-buzz-1001"
SCOPES = (
    SCOPE_PREFIX + "roster.readonly",
    SCOPE_PREFIX + "roster-demographics.readonly",
    SCOPE_PREFIX + "gradebook.createput",
)
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "cassettes" / "skyward_qmlativ.yaml"


def record(output: Path) -> None:
    """Serve the Skyward-like district and record the session into ``output``."""
    planted = skyward_like_district(
        seed=SEED, students=STUDENTS, classes_per_student=CLASSES_PER_STUDENT
    )
    with skyward_like_server(planted.district, client_id=KEY, client_secret=SECRET) as server:
        settings = loopback_settings(server, page_size=PAGE_SIZE, scopes=SCOPES)
        with record_session(output, settings, retry=RetryPolicy.none()) as client:
            orgs = client.orgs.list().all()
            users = client.users.list().all()
            enrollments = client.enrollments.list().all()
            classes = client.classes.list().all()
            line_item = LineItem(
                sourced_id=LINE_ITEM_ID,
                title="Buzz: Unit 1 quiz",
                class_=GUIDRef(sourced_id=classes[0].sourced_id, type="class"),
                assign_date=datetime(2025, 1, 13, 14, 0, tzinfo=UTC),
                due_date=datetime(2025, 1, 20, 14, 0, tzinfo=UTC),
                result_value_min=0.0,
                result_value_max=10.0,
            )
            written = client.line_items.put(line_item)
    print(
        f"recorded {len(orgs)} orgs, {len(users)} users, {len(enrollments)} enrollments, "
        f"{len(classes)} classes and a lineItem PUT (HTTP {written.status_code}) to {output}"
    )


if __name__ == "__main__":
    record(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTPUT)
