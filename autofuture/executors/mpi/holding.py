"""Held results under MPI: ranks keep big results and move them rank to rank.

A worker rank that holds a result (``worker.store``) answers FETCH requests
(``("get", key, take, ident)``) with DATA (``("data", ident, value or None,
bytes)``) from whoever asks: another worker rank that needs it for a task,
directly, never through rank 0, or rank 0 when the workflow reads the value.
Rank 0 sends FREE (a list of keys) when no future refers to a value any more.

A rank answers between tasks, and also while it waits for a value of its own
(``fetch``), so two ranks fetching from each other never wait forever.
"""

from __future__ import annotations

import itertools
import time

from ...worker import store
from . import doorbell
from .world import DATA, FETCH, FREE, _world

_idents = itertools.count(1)


def answer(comm, source: int, request) -> None:
    """Send the value a FETCH asks for (None when it is no longer here)."""
    _, key, take, ident = request
    nbytes = store.size_of(key)
    value = store.take_or_get(key, take)
    if value is store.MISSING:
        doorbell.send(comm, ("data", ident, None, 0), source, DATA)
        return
    doorbell.send(comm, ("data", ident, value, nbytes), source, DATA)


def serve_pending(comm) -> None:
    """Answer every FETCH and FREE waiting for this rank (between tasks)."""
    from mpi4py import MPI

    status = MPI.Status()
    while True:
        message = comm.improbe(MPI.ANY_SOURCE, FETCH, status)
        if message is not None:
            answer(comm, status.Get_source(), message.recv())
            continue
        message = comm.improbe(0, FREE, status)
        if message is not None:
            store.handle("free", message.recv())
            continue
        return


def fetch(address, key, take: bool):
    """A worker rank's fetch of a value another rank holds, answering requests meanwhile."""
    from mpi4py import MPI

    comm = _world.comm
    rank = address[1]
    ident = next(_idents)
    doorbell.send(comm, ("get", key, take, ident), rank, FETCH)
    status = MPI.Status()
    delay = 0.00002
    while True:
        message = comm.improbe(rank, DATA, status)
        if message is not None:
            _, got, value, _ = message.recv()
            if got != ident:
                continue  # an answer to an earlier request that gave up: not this one
            if value is None:
                raise KeyError(key)
            return value
        before = delay
        serve_pending(comm)
        time.sleep(delay)
        delay = min(2 * before, 0.0002)


def start() -> None:
    """On a worker rank: results may stay here, at this address."""
    import os

    store.set_address(("mpi", _world.rank, f"pid {os.getpid()}"))
    store.fetchers["mpi"] = fetch
