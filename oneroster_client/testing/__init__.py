"""Test tooling: a loopback OneRoster 1.1 server, synthetic districts, pytest fixtures."""

from oneroster_client.testing.district import COLLECTION_MODELS, District
from oneroster_client.testing.generator import generate_district
from oneroster_client.testing.server import ALL_SCOPES, Faults, OneRosterServer, ServedRequest

__all__ = [
    "ALL_SCOPES",
    "COLLECTION_MODELS",
    "District",
    "Faults",
    "OneRosterServer",
    "ServedRequest",
    "generate_district",
]
