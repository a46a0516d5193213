"""The hint of an HTTP 404 fits what was asked: a listing that is not served points at the
base URL and the collection; a record by id points at the id."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from oneroster_client import OneRosterClient
from oneroster_client.errors import NotFoundError
from oneroster_client.retry import RetryPolicy
from oneroster_client.testing.hostile import Received, Reply, ScriptedServer

Serve = Callable[[Callable[[Received], Reply]], ScriptedServer]


def _client(server: ScriptedServer) -> OneRosterClient:
    return OneRosterClient(
        server.url("/wrong/prefix/ims/oneroster/v1p1"), auth=None, retry=RetryPolicy.none()
    )


def _not_found(serve: Serve) -> ScriptedServer:
    return serve(lambda _: Reply(404, body="<html>Not Found</html>"))


def test_a_listing_not_found_points_at_the_base_url_not_an_id(serve: Serve) -> None:
    with _client(_not_found(serve)) as client, pytest.raises(NotFoundError) as caught:
        client.users.list().first(1)
    message = str(caught.value)
    assert "base URL" in message and "collection" in message
    assert "sourcedId" not in message


def test_a_record_not_found_points_at_its_id(serve: Serve) -> None:
    with _client(_not_found(serve)) as client, pytest.raises(NotFoundError) as caught:
        client.users.get("u-404")
    message = str(caught.value)
    assert "sourcedId" in message and "base URL" in message
