"""Pausing the cyclic garbage collector while a large structure is built.

Building a million small objects (a district's enrollments in Buzz rostering) sets off
the cyclic collector again and again, and each full pass walks every object already
built: about half the time of mapping a district went there. The objects built are not
cyclic garbage, so nothing is gained by collecting meanwhile. :func:`paused` switches
the collector off for the duration and back on afterwards, unless it was off when the
first pause began (or another pause still needs it off: pauses nest and may overlap
across threads).

The collector is process-wide: while a pause lasts, no thread's cyclic garbage is
collected (reference counting still frees everything else), and a ``gc.disable()`` made
by other code during a pause is undone when the last pause ends. Pauses are therefore
kept to pure computation, never to waiting on the network.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused"]

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def paused() -> Iterator[None]:
    """Switch the cyclic garbage collector off inside the ``with`` block."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
