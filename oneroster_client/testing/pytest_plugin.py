"""Pytest fixtures for code that talks OneRoster: a loopback server, districts and a client.

Installed with the package (``pytest11`` entry point), so any project that depends on
``oneroster-client`` can write::

    def test_sync(oneroster_api):
        assert oneroster_api.students.list().count() == 60

Fixtures:

- ``oneroster_district``: a synthetic district (60 students, seed 7 unless the test's
  ``oneroster_district`` marker says otherwise), a private copy per test.
- ``oneroster_district_factory``: builds more districts of chosen sizes,
  ``oneroster_district_factory(students=500, seed=3)``; equal arguments are generated
  once per session and each call returns a private copy.
- ``oneroster_server``: a running :class:`OneRosterServer` serving ``oneroster_district``
  on 127.0.0.1, fresh for each test (its gradebook can be written and its ``faults``
  changed freely).
- ``oneroster_api``: a :class:`~oneroster_client.OneRosterClient` connected to
  ``oneroster_server`` with OAuth 2; its retries never really sleep.
- ``oneroster_retry_sleep``: the :class:`RecordedSleep` that client's
  :class:`~oneroster_client.retry.RetryPolicy` sleeps with; ``waits`` lists the seconds
  each retry would have waited.

The marker sets the district of ``oneroster_district``, ``oneroster_server`` and
``oneroster_api``; its keywords are those of
:func:`~oneroster_client.testing.generate_district`::

    @pytest.mark.oneroster_district(students=500, seed=3)
    def test_large_roster(oneroster_api): ...

The Buzz plugin (``oneroster_client.buzz.testing.pytest_plugin``, also installed) adds
``buzz_server``: a loopback Buzz DLAP server per test.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

from oneroster_client.client import OneRosterClient
from oneroster_client.retry import RetryPolicy
from oneroster_client.testing.district import District
from oneroster_client.testing.server import OneRosterServer

__all__ = [
    "DEFAULT_DISTRICT",
    "RecordedSleep",
    "oneroster_api",
    "oneroster_district",
    "oneroster_district_factory",
    "oneroster_retry_sleep",
    "oneroster_server",
]

MARKER = "oneroster_district"

DEFAULT_DISTRICT: dict[str, Any] = {"students": 60, "seed": 7}
"""The ``generate_district`` arguments of the district a test gets without the marker."""

DistrictFactory = Callable[..., District]


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``oneroster_district`` marker."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): the district of the oneroster_district, oneroster_server and "
        "oneroster_api fixtures; options are those of "
        "oneroster_client.testing.generate_district (students=, seed=, schools=, ...)",
    )


@attrs.define
class RecordedSleep:
    """A ``sleep`` for :class:`~oneroster_client.retry.RetryPolicy` that returns at once.

    Attributes:
        waits: the seconds of each wait asked for, in order.
    """

    waits: list[float] = attrs.field(factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def _copy(district: District) -> District:
    # Generated districts share structure between records: a deep copy keeps one test's
    # gradebook writes out of the next test's district.
    return District(collections=copy.deepcopy(district.collections))


@pytest.fixture(scope="session")
def _oneroster_districts() -> dict[str, District]:
    """Generated districts by their arguments, kept for the session."""
    return {}


@pytest.fixture
def oneroster_district_factory(_oneroster_districts: dict[str, District]) -> DistrictFactory:
    """Make districts of a chosen size: ``oneroster_district_factory(students=500, seed=3)``.

    Takes the keywords of :func:`~oneroster_client.testing.generate_district`. Each
    district is generated once per session; every call returns a private copy.
    """
    from oneroster_client.testing.generator import generate_district

    def make(**options: Any) -> District:
        key = repr(sorted(options.items()))
        district = _oneroster_districts.get(key)
        if district is None:
            district = _oneroster_districts[key] = generate_district(**options)
        return _copy(district)

    return make


@pytest.fixture
def oneroster_district(
    request: pytest.FixtureRequest, oneroster_district_factory: DistrictFactory
) -> District:
    """A synthetic district, a private copy per test.

    60 students with seed 7 unless the test is marked
    ``@pytest.mark.oneroster_district(students=..., seed=..., ...)``.
    """
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None and marker.args:
        raise pytest.UsageError(
            f"@pytest.mark.{MARKER} takes keywords only, e.g. "
            f"@pytest.mark.{MARKER}(students=500, seed=3); got {marker.args!r}"
        )
    options = dict(marker.kwargs) if marker is not None else dict(DEFAULT_DISTRICT)
    return oneroster_district_factory(**options)


@pytest.fixture
def oneroster_server(oneroster_district: District) -> Iterator[OneRosterServer]:
    """A running :class:`OneRosterServer` serving ``oneroster_district`` on 127.0.0.1."""
    with OneRosterServer(oneroster_district) as server:
        yield server


@pytest.fixture
def oneroster_retry_sleep() -> RecordedSleep:
    """The sleep of ``oneroster_api``'s retry policy: returns at once, records the waits."""
    return RecordedSleep()


@pytest.fixture
def oneroster_api(
    oneroster_server: OneRosterServer, oneroster_retry_sleep: RecordedSleep
) -> Iterator[OneRosterClient]:
    """A :class:`~oneroster_client.OneRosterClient` for ``oneroster_server`` (OAuth 2).

    Its :class:`~oneroster_client.retry.RetryPolicy` is the default one with
    ``oneroster_retry_sleep`` as its sleep, so retries after 429 or 503 faults happen at
    once and ``oneroster_retry_sleep.waits`` says how long each would have waited. The
    client is closed after the test.
    """
    retry = RetryPolicy(sleep=oneroster_retry_sleep)
    with OneRosterClient(
        oneroster_server.base_url, auth=oneroster_server.oauth2(), retry=retry, timeout=10.0
    ) as client:
        yield client
