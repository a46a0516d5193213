"""oneroster_client._gc.paused: the collector is off inside, restored after, nesting and
overlapping pauses included, and never switched on when the caller had it off."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from oneroster_client import _gc


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_off_inside_and_back_on_after() -> None:
    gc.enable()
    with _gc.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_back_on_after_an_exception() -> None:
    gc.enable()
    with pytest.raises(ValueError), _gc.paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_nested_pauses_switch_back_on_only_at_the_outermost() -> None:
    gc.enable()
    with _gc.paused():
        with _gc.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_the_caller_switched_off_stays_off() -> None:
    gc.disable()
    with _gc.paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_overlapping_pauses_in_threads_switch_back_on_once_both_end() -> None:
    gc.enable()
    inside = threading.Barrier(2)
    first_done = threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with _gc.paused():
            inside.wait()
        first_done.set()

    def second() -> None:
        with _gc.paused():
            inside.wait()
            first_done.wait(5)
            seen.append(gc.isenabled())  # the first ended; the second still needs it off

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == [False]
    assert gc.isenabled()
