"""One DLAP command as the loopback Buzz server's handlers see it."""

from __future__ import annotations

from typing import Any

import attrs

from oneroster_client.buzz.testing.fields import as_id, domain_ref
from oneroster_client.buzz.testing.state import DlapError, Store

__all__ = ["Call"]


@attrs.frozen
class Call:
    """A command being served.

    Attributes:
        name: the command name, lower case.
        params: query-string parameters merged with the single ``request`` object.
        store: the server's state.
        caller: the authenticated user id ("" before authentication).
        token: the token the command came with ("" when none).
        collapse: write lists in Buzz's collapsed XML-born form (a fault switch).
        max_limit: the largest page a list serves, or ``None``.
    """

    name: str
    params: dict[str, Any]
    store: Store
    caller: str = ""
    token: str = ""
    collapse: bool = False
    max_limit: int | None = None

    def require(self, name: str) -> Any:
        """A parameter that must be present and non-empty."""
        value = self.params.get(name)
        if value is None or value == "":
            raise DlapError("BadRequest", f"{self.name}: missing required parameter {name}")
        return value

    def require_id(self, name: str) -> str:
        """A required id parameter, as a string."""
        return as_id(self.require(name), name)

    def require_domain(self, name: str = "domainid") -> str:
        """A required domain parameter: a Buzz id (``0`` included) or ``//<userspace>``."""
        return domain_ref(self.store, self.require(name), name)
