"""Pytest fixtures for code that talks OneRoster: a loopback server with a small district.

Installed with the package (``pytest11`` entry point), so any project that depends on
``oneroster-client`` can write::

    def test_sync(oneroster_server):
        client = OneRosterClient(oneroster_server.base_url, auth=oneroster_server.oauth2())
        assert client.students.list().count() == 60

``oneroster_server`` is fresh for each test (its gradebook can be written and its
faults changed freely); the district behind it is generated once per session.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest

from oneroster_client.testing.district import District
from oneroster_client.testing.server import OneRosterServer

__all__ = ["oneroster_district", "oneroster_server"]


@pytest.fixture(scope="session")
def _oneroster_session_district() -> District:
    from oneroster_client.testing.generator import generate_district

    return generate_district(students=60, seed=7)


@pytest.fixture
def oneroster_district(_oneroster_session_district: District) -> District:
    """A small synthetic district (60 students, seed 7), a private copy per test."""
    return District(collections=copy.deepcopy(_oneroster_session_district.collections))


@pytest.fixture
def oneroster_server(oneroster_district: District) -> Iterator[OneRosterServer]:
    """A running :class:`OneRosterServer` serving ``oneroster_district`` on 127.0.0.1."""
    with OneRosterServer(oneroster_district) as server:
        yield server
