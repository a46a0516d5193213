"""Fixtures for the Buzz tests: a fresh loopback Buzz server and a raw DLAP caller.

``buzz_server`` comes from the package's pytest plugin (registered as a ``pytest11`` entry
point, so projects that depend on oneroster-client get it too).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from oneroster_client.buzz.testing import BuzzServer

__all__ = ["Dlap", "dlap"]


class Dlap:
    """Raw DLAP calls over HTTP with plain ``requests`` (no Buzz client involved)."""

    def __init__(self, server: BuzzServer, token: str | None) -> None:
        self.server = server
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, command: str, **params: Any) -> dict[str, Any]:
        """GET a read command; the ``response`` object."""
        answer = self.session.get(self.server.cmd_url(command), params=params, timeout=5)
        assert answer.status_code == 200, answer.text
        return dict(answer.json()["response"])

    def batch(self, command: str, root: str, items: list[Any], **params: Any) -> dict[str, Any]:
        """POST a batch command; the ``response`` object."""
        body = {"requests": {root: items}}
        answer = self.session.post(
            self.server.cmd_url(command), params=params, json=body, timeout=5
        )
        assert answer.status_code == 200, answer.text
        return dict(answer.json()["response"])

    def items(self, command: str, root: str, items: list[Any], **params: Any) -> list[Any]:
        """POST a batch command; the per-item results."""
        response = self.batch(command, root, items, **params)
        assert response["code"] == "OK", response
        return list(response["responses"]["response"])

    def create(self, command: str, root: str, item: dict[str, Any], **params: Any) -> str:
        """Create one entity; its new id (fails the test if the item was refused)."""
        (result,) = self.items(command, root, [item], **params)
        assert result["code"] == "OK", result
        key = {"createusers2": "userid", "createdomains": "domainid"}.get(command)
        key = key or {"createcourses": "courseid", "copycourses": "courseid"}.get(command)
        entity = result[root]
        return str(entity[key or "enrollmentid"])


@pytest.fixture
def dlap(buzz_server: BuzzServer) -> Iterator[Dlap]:
    """A :class:`Dlap` caller holding a valid token of the application identity."""
    caller = Dlap(buzz_server, buzz_server.issue_token())
    yield caller
    caller.session.close()
