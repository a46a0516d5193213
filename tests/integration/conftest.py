"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from oneroster_client.testing.hostile import Received, Reply, ScriptedServer


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[Received], Reply]], ScriptedServer]]:
    """Start scripted servers for a test; all are stopped when it ends."""
    servers: list[ScriptedServer] = []

    def start(script: Callable[[Received], Reply]) -> ScriptedServer:
        server = ScriptedServer(script).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
