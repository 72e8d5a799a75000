"""Executors whose worker processes keep big results: how the workflow reaches them.

An executor with ``holds = True`` lets results stay on its workers (see
``worker.store`` and ``runtime.locality``) and offers ``alive(address)``,
``fetch(address, key) -> (value, bytes)``, ``free(address, keys)``,
``drop(addresses, run)`` and ``holder_name(address)`` (the worker name its
results carry, for the trace). ``UnixHolders`` serves workers on this host,
which listen on Unix sockets in the run's private directory; MPI ranks are
reached over MPI instead (``executors.mpi.driver``).
"""

from __future__ import annotations

import os

from ..worker import store
from .slots import alive

#: What moving a held input to another worker is assumed to cost (bytes per second),
#: weighed against waiting for the busy worker that holds it.
MOVE_BYTES_PER_SECOND = 1e9


class UnixHolders:
    holds = True

    def alive(self, address) -> bool:
        return alive(pid_of(address))

    def fetch(self, address, key, take: bool = False):
        return store.request(address[1], key, take)

    def free(self, address, keys) -> None:
        if address is not None:
            store.tell(address[1], "free", keys)

    def drop(self, addresses, run) -> None:
        """The run's end: its workers end with their pools, and their memory with them."""
        store.close_connections()

    def holder_name(self, address) -> str:
        return f"pid {pid_of(address)}"


def pid_of(address) -> int:
    name = os.path.basename(address[1])
    try:
        return int(name.split(".", 1)[0])
    except ValueError:
        return 0
