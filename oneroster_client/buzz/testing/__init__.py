"""A loopback Agilix Buzz (DLAP) server for tests: :class:`BuzzServer`, its faults and fixture.

It speaks the DLAP wire format on its own (it shares no code with the Buzz client), so
the client is tested against an independent implementation.
"""

from oneroster_client.buzz.testing.faults import BuzzFaults
from oneroster_client.buzz.testing.keys import generate_key, make_assertion
from oneroster_client.buzz.testing.seed import ADMIN_ID, APP_ID, ROLE_IDS
from oneroster_client.buzz.testing.server import APP_KEY_ID, BuzzServer, ServedCommand
from oneroster_client.buzz.testing.state import ROOT_DOMAIN_ID

__all__ = [
    "ADMIN_ID",
    "APP_ID",
    "APP_KEY_ID",
    "ROLE_IDS",
    "ROOT_DOMAIN_ID",
    "BuzzFaults",
    "BuzzServer",
    "ServedCommand",
    "generate_key",
    "make_assertion",
]
