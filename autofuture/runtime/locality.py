"""Results that stay on their workers: the scheduler's bookkeeping of held values.

``Locality`` is mixed into ``Scheduler`` (through ``Sending``). With an
executor whose workers can hold results (``executor.holds``: loky, MPI), a
result of ``worker.store.HOLD_BYTES`` or more stays where it was computed and
its future holds a ``runtime.held.Held``. This module:

- says in each message where the held inputs of its tasks are (``_hold_part``),
  and parks a task whose input is nowhere until its lineage has made it again;
- records a held result (``_held_value``), and keeps each worker under
  ``--worker-memory`` by fetching its oldest held results into the workflow;
- fetches a value when the workflow needs it (``fetch_held``);
- frees values no future refers to (``_free_released``), and everything the
  run left on its workers at shutdown (``_drop_held``);
- makes a lost value again from its lineage (``_recompute``): the task that
  made it runs again, after whatever of its own inputs was lost with it.
  A value that cannot be made again (its task now fails, or it was lost more
  than ``MAX_RECOMPUTES`` times) fails every task that needs it, naming it.
"""

from __future__ import annotations

import collections
import os
import time

from .._errors import WorkerLostError
from ..worker import serialize, store
from . import held as _held
from .entries import TASK, Entry

#: How many times one result may be made again after its worker was lost.
MAX_RECOMPUTES = 3


class Locality:
    def _init_locality(self) -> None:
        self.holding = 0  # the threshold in bytes when results may stay on workers, else 0
        self.run_token = os.urandom(6).hex()  # names this run's held values
        self.held_at: dict = {}  # address -> {node: None}, oldest first
        self.held_bytes: dict = {}  # address -> bytes held there
        self.addresses: set = set()  # every holder this run used

    def _start_holding(self) -> None:
        """After the executor opened: hold results when it can and nothing forbids it."""
        if getattr(self.executor, "holds", False) and self.checkpoint is None:
            self.holding = store.hold_threshold()

    # -- sending ------------------------------------------------------------------

    def _collect(self, entry: Entry, make):
        """``make(entry)`` (a task's payload) while noting the held values it references."""
        _held.collecting = []
        try:
            payload = make(entry)
            needs = _held.collecting
        finally:
            _held.collecting = None
        if needs:
            unique = list({id(h): h for h in needs}.values())
            for handle in unique:
                handle.pending += 1
            entry.needs = unique
        return payload

    def _inputs_ready(self, entry: Entry) -> bool:
        """Every held input of ``entry`` is somewhere; else it waits for its recompute."""
        missing = []
        for handle in entry.needs:
            node = handle.node
            if node.address is not None and not self.executor.alive(node.address):
                self._forget(node)
            if not node.available():
                if node.failed is not None:
                    self._fail_waiter(entry, node)
                    return False
                missing.append(node)
        if not missing:
            return True
        entry.parked = len(missing)
        for node in missing:
            node.waiters.append(entry)
            self._recompute(node)
        return False

    def _hold_part(self, batch: list):
        """The message's (run, where inputs are, threshold), or None when nothing is held."""
        if not self.holding:
            return None
        where = {}
        taken = []
        near: dict = {}  # holder -> bytes of inputs there: the executor may send the tasks there
        name = self.executor.holder_name
        for entry in batch:
            if not entry.needs:
                continue
            placed = entry.inputs_at = []
            for handle in entry.needs:
                node = handle.node
                if node.value is not _held._NONE:
                    where[node.number] = ("value", serialize.value_payload(node.value))
                    placed.append((node.nbytes, "workflow"))
                    continue
                placed.append((node.nbytes, name(node.address)))
                near[node.address[1]] = near.get(node.address[1], 0) + node.nbytes
                if handle.sole_user():
                    where[node.number] = ("at", node.address, True)
                    self._forget(node)  # the task takes it: the worker keeps no copy
                    taken.append(node.number)
                else:
                    where[node.number] = ("at", node.address, False)
        if taken and self.observers:
            self._emit({"event": "free", "ids": taken, "why": "taken", "time": time.time()})
        return (self.run_token, where, self.holding, near or None)

    def _inputs_seen(self, entry: Entry, worker: str) -> dict:
        """For the trace: bytes of held inputs the task read, and how many came from
        another process than the one that ran it."""
        read = moved = 0
        for nbytes, name in entry.inputs_at or ():
            read += nbytes
            if name != worker:
                moved += nbytes
        return {"read": read, "moved": moved}

    def _done_needs(self, entry: Entry) -> None:
        needs = entry.needs
        if needs:
            entry.needs = None
            for handle in needs:
                handle.pending -= 1

    # -- receiving ----------------------------------------------------------------

    def _held_value(self, entry: Entry, payload):
        """The Held handle for a result that stayed on its worker."""
        number, nbytes, address, type_name = payload[1]
        inputs = [handle.node for handle in entry.needs or ()]
        node = _held.Node(number, entry.label, entry.sent, inputs, address, nbytes, type_name)
        self._place(node, address)
        return _held.handle(node, entry.future)

    def _place(self, node, address) -> None:
        node.address = address
        self.addresses.add(address)
        self.held_at.setdefault(address, {})[node] = None
        self.held_bytes[address] = self.held_bytes.get(address, 0) + node.nbytes
        limit = self.options.worker_memory
        held = self.held_at[address]
        while self.held_bytes[address] > limit and len(held) > 1:
            oldest = next(iter(held))
            if oldest is node:
                break
            self._fetch(oldest, why="memory")

    def _forget(self, node) -> None:
        """``node`` is no longer on its worker (taken, fetched, freed or lost)."""
        address = node.address
        if address is None:
            return
        node.address = None
        if self.held_at.get(address, {}).pop(node, _MISSING) is not _MISSING:
            self.held_bytes[address] -= node.nbytes

    def _input_lost(self, entry: Entry, number: int) -> None:
        """A task found one of its inputs gone with its worker: make it again, then resend."""
        for handle in entry.needs or ():
            if handle.node.number == number:
                self._forget(handle.node)
        self._again(entry)

    def _again(self, entry: Entry) -> None:
        if entry.node is not None or not (entry.discarded or entry.finished):
            if not self.ready:
                self.ready_since = time.monotonic()
            self.ready.append(entry)

    # -- lineage ------------------------------------------------------------------

    def _recompute(self, node) -> None:
        """Run the task that made ``node`` again (once at a time), as a task of its own."""
        if node.recomputing:
            return
        if node.recomputes >= MAX_RECOMPUTES or node.sent is None:
            self._recompute_failed(node, WorkerLostError(
                f"the result of {node.label} was lost with its worker "
                f"{node.recomputes} times; the run cannot go on without it"))
            return
        node.recomputing = True
        node.recomputes += 1
        entry = Entry(TASK, None, None, None, None, "", True)
        entry.number = node.number
        entry._label = node.label
        entry.sent = node.sent
        entry.node = node
        entry.needs = [_held.handle(n) for n in node.inputs]
        for handle in entry.needs:
            handle.pending += 1
        if self.observers:
            self._emit({"event": "recompute", "id": node.number, "time": time.time()})
        self._again(entry)

    def _recompute_lost(self, entry: Entry) -> None:
        """A recompute's own worker died: another attempt, counted against the node."""
        self._done_needs(entry)
        entry.node.recomputing = False
        self._recompute(entry.node)

    def _recomputed(self, entry: Entry, ok: bool, payload) -> None:
        """A recompute's reply: the node is somewhere again, and its waiters go on."""
        node = entry.node
        if not ok:
            if payload[1] == "<held lost>":
                self._input_lost(entry, int(payload[2]))
                return
            from . import outcomes

            exc = outcomes.rebuild(payload, entry)[0]
            self._done_needs(entry)
            node.recomputing = False
            self._recompute_failed(node, WorkerLostError(
                f"the result of {node.label} was lost with its worker, and running it "
                f"again failed: {type(exc).__name__}: {exc}"))
            return
        self._done_needs(entry)
        node.recomputing = False
        if payload[0] == store.HELD_TAG:
            node.nbytes = payload[1][1]
            self._place(node, payload[1][2])
        else:
            node.value = serialize.load(payload)
        waiters, node.waiters = node.waiters, []
        for waiter in waiters:
            waiter.parked -= 1
            if waiter.parked <= 0:
                self._again(waiter)

    def _recompute_failed(self, node, exc: BaseException) -> None:
        node.failed = exc
        waiters, node.waiters = node.waiters, []
        for waiter in waiters:
            self._fail_waiter(waiter, node)

    def _fail_waiter(self, entry: Entry, node) -> None:
        if entry.node is not None:
            self._done_needs(entry)
            entry.node.recomputing = False
            self._recompute_failed(entry.node, node.failed)
            return
        self._done_needs(entry)
        self._finish(entry, failure=(node.failed, (), None))

    # -- the workflow needs a value -----------------------------------------------

    def fetch_held(self, node):
        """The value of a held result, brought into the workflow (made again if lost)."""
        if not self.on_workflow_thread():  # another thread: no recompute from here
            if node.address is None:
                raise WorkerLostError(f"the result of {node.label} is no longer on a worker; "
                                      "read it on the workflow's thread")
            value, _ = self.executor.fetch(node.address, (self.run_token, node.number))
            return value
        while node.value is _held._NONE:
            if node.failed is not None:
                raise node.failed
            if node.address is not None and self._fetch(node, why="read"):
                break
            self._recompute(node)
            self.logs.append(collections.deque())  # nothing of the log runs meanwhile
            try:
                self.drain(until=lambda: node.available() or node.failed is not None)
            finally:
                self.logs.pop()
        return node.value

    def _fetch(self, node, why: str) -> bool:
        """Bring ``node``'s value into the workflow and free the worker's copy; False if lost."""
        address = node.address
        try:
            value, nbytes = self.executor.fetch(address, (self.run_token, node.number))
        except (OSError, EOFError, KeyError, WorkerLostError):
            self._forget(node)
            return False
        node.value = value
        self._forget(node)
        self.executor.free(address, [(self.run_token, node.number)])
        if self.observers:
            self._emit({"event": "fetch", "id": node.number, "bytes": nbytes, "why": why,
                        "time": time.time()})
        return True

    # -- freeing ------------------------------------------------------------------

    def _free_released(self) -> None:
        freed = _held.take_released()
        by_address: dict = {}
        for node in freed:
            address = node.address
            self._forget(node)
            by_address.setdefault(address, []).append((self.run_token, node.number))
        for address, keys in by_address.items():
            self.executor.free(address, keys)
        if freed and self.observers:
            self._emit({"event": "free", "ids": [node.number for node in freed],
                        "why": "unused", "time": time.time()})

    def _drop_held(self) -> None:
        """At the end of the run: every worker forgets what it held for it."""
        if self.addresses and self.executor is not None:
            self.executor.drop(self.addresses, self.run_token)
        self.addresses = set()
        self.held_at.clear()
        self.held_bytes.clear()


_MISSING = object()
