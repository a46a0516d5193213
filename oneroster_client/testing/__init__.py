"""Test tooling: a loopback OneRoster 1.1 server, synthetic districts, pytest fixtures."""

from oneroster_client.testing.district import COLLECTION_MODELS, District
from oneroster_client.testing.generator import generate_district
from oneroster_client.testing.server import (
    ALL_SCOPES,
    SCORE_STATUSES,
    Faults,
    GradebookRules,
    OneRosterServer,
    ServedRequest,
)

__all__ = [
    "ALL_SCOPES",
    "COLLECTION_MODELS",
    "SCORE_STATUSES",
    "District",
    "Faults",
    "GradebookRules",
    "OneRosterServer",
    "ServedRequest",
    "generate_district",
]
