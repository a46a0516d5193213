"""Test tooling: a loopback OneRoster 1.1 server and synthetic districts."""

from oneroster_client.testing.district import COLLECTION_MODELS, District

__all__ = ["COLLECTION_MODELS", "District"]
