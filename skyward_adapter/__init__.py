"""Skyward (Qmlativ, SMS 2.0) adapter for oneroster-client."""
