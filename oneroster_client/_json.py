"""JSON decoding: ``orjson`` when it is installed, the standard library otherwise.

Both give the same Python values for every document this module hands on, so records
read with either are equal. Where they would differ, the standard library decides:

* integers that do not fit in 64 bits (``orjson`` reads them as floats) - a body with a
  run of 19 or more digits is read by the standard library;
* whatever ``orjson`` refuses (``NaN``, lone surrogates, nesting deeper than its limit,
  UTF-16 bodies, ...) is read again by the standard library, so that a body is accepted
  or refused exactly as without ``orjson``, with the same exceptions
  (:class:`json.JSONDecodeError`, :class:`UnicodeDecodeError`, :class:`RecursionError`).

Install the ``fast`` extra (``pip install "oneroster-client[fast]"``) to get ``orjson``.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

__all__ = ["BACKEND", "loads"]

_stdlib_loads: Callable[[bytes], Any] = json.loads

_orjson: Any
try:  # an optional extra: the library works the same without it, only slower
    # Imported by name so that type checking does not depend on whether it is installed.
    _orjson = importlib.import_module("orjson")
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None

BACKEND = "stdlib" if _orjson is None else "orjson"
"""The decoder in use: ``"orjson"`` or ``"stdlib"``."""

# Digits map to "0", everything else to " ": a long run of zeros is a long digit run.
_DIGITS = bytes(0x30 if 0x30 <= code <= 0x39 else 0x20 for code in range(256))
_LONG_DIGITS = b"0" * 19  # 2**63 has 19 digits: shorter integers fit in 64 bits


def _stdlib(data: bytes) -> Any:
    return _stdlib_loads(data)


def _fast(data: bytes) -> Any:
    if _LONG_DIGITS in data.translate(_DIGITS):
        return _stdlib_loads(data)  # a big integer: orjson would make it a float
    try:
        return _orjson.loads(data)
    except ValueError:
        # Refused by orjson: the standard library accepts it or raises its own error.
        return _stdlib_loads(data)


loads: Callable[[bytes], Any] = _stdlib if _orjson is None else _fast
"""Parse a JSON document from bytes (see the module documentation for the guarantees)."""


def stdlib_loads(data: bytes) -> Any:
    """Parse with the standard library only (for comparisons in tests and benchmarks)."""
    return _stdlib_loads(data)
