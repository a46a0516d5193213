"""Pytest fixture for code that talks to Agilix Buzz: a fresh loopback DLAP server per test.

Installed with the package as a ``pytest11`` plugin, so a project depending on
``oneroster-client`` can write::

    def test_roster(buzz_server):
        token_url, user_id, private_key_pem, key_id = buzz_server.jwt_credentials()
        ...
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from oneroster_client.buzz.testing.server import BuzzServer

__all__ = ["buzz_server", "fail_on_server_errors"]


@pytest.fixture
def buzz_server() -> Iterator[BuzzServer]:
    """A started :class:`BuzzServer` with only the built-in root domain, roles and users.

    The test errors at teardown if the server hit a bug of its own (``server.errors``), so
    a client test never passes on the back of a broken server answer.
    """
    with BuzzServer() as server:
        yield server
        fail_on_server_errors(server)


def fail_on_server_errors(server: BuzzServer) -> None:
    """Fail the running test if ``server`` recorded internal errors."""
    if server.errors:
        kinds = ", ".join(sorted({type(error).__name__ for error in server.errors}))
        pytest.fail(f"the loopback Buzz server failed internally: {kinds}")
