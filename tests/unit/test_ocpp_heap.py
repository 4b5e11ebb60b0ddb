"""The central system's garbage-collection policy, on the real collector: what gets frozen, and
when frozen cyclic garbage is reclaimed. The timers are not waited for: ``settled`` is what
they call."""

from __future__ import annotations

import gc
import weakref

import pytest

from ingest.ocpp.heap import Heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def heap():
    thresholds = gc.get_threshold()
    heap = Heap(closes=3)
    heap.start()
    yield heap
    heap.stop()
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def _frozen(obj: object) -> bool:
    # gc.get_objects() lists the three generations, never the frozen (permanent) one.
    return gc.is_tracked(obj) and not any(o is obj for o in gc.get_objects())


async def test_start_freezes_what_exists_and_collects_the_young_rarely(heap):
    assert gc.get_threshold() == (50_000, 20, 10)
    before = Node()  # made after start: the collector may walk it until the fleet settles
    assert not _frozen(before)
    heap.connection_opened()
    heap.settled()
    assert _frozen(before)
    assert heap.full_collections == 0


async def test_frozen_cyclic_garbage_waits_for_enough_closes(heap):
    a, b = Node(), Node()
    a.other, b.other = b, a
    alive = weakref.ref(a)
    heap.connection_opened()
    heap.settled()  # the cycle is frozen while still in use...
    del a, b
    gc.collect()
    assert alive() is not None  # ...so no collection frees it once it is garbage
    heap.connection_closed()
    heap.connection_closed()
    heap.settled()  # 2 closes of the 3 that make a full collection worth it
    assert alive() is not None and heap.full_collections == 0
    heap.connection_closed()
    heap.settled()
    assert alive() is None
    assert heap.full_collections == 1 and heap.closed == 0


async def test_a_heap_not_started_leaves_the_collector_alone():
    idle = Heap()
    threshold = gc.get_threshold()
    idle.connection_opened()
    idle.connection_closed()
    assert idle._timer is None
    assert gc.get_threshold() == threshold
