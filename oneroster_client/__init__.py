"""oneroster-client: a typed, tolerant OneRoster 1.1 REST client.

See the README for the two-command quick start and ``docs/`` for guides.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
