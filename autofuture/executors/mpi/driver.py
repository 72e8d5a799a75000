"""Rank 0's side of MPI: the executor that sends messages to worker ranks.

See ``world`` for the whole picture.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import sys
import threading
import time

from ..._errors import Terminated, WorkerLostError
from ...worker import runner
from ..holding import MOVE_BYTES_PER_SECOND
from . import doorbell, timelimits
from .world import (
    CANCEL,
    CANCEL_GRACE_SECONDS,
    CTRL_C_GRACE_SECONDS,
    FETCH,
    FREE,
    PREFETCH_BELOW_SECONDS,
    SPIN_SECONDS_RANK0,
    TASKS,
    WAKE,
    _flush,
    _next_message,
    _release,
    _status_of,
    _wait_quietly,
    _world,
)


def create(workers: int | None):
    """The executor for ``--executor mpi``: MPI ranks, or loky when there is only one rank."""
    if _world.comm is None or _world.size < 2:
        from ..loky import Loky
        from ..pool import default_workers

        print("autofuture: --executor mpi needs more than one MPI process (run "
              "mpiexec -n N python -m autofuture ... with N >= 2); using loky instead",
              file=sys.stderr)
        return Loky(workers or default_workers())
    return MPIExecutor()

_FULL = object()


class _Message:
    __slots__ = ("id", "future", "labels", "message", "rank", "request", "near", "limit",
                 "started")

    def __init__(self, ident, future, labels, message, limit=None):
        self.id = ident
        self.future = future
        self.labels = labels
        self.message = message
        self.rank = None
        self.request = None
        # {rank: bytes of the tasks' held inputs there}: the message goes to its data
        hold = message[3] if len(message) > 3 else None
        self.near = hold[3] if hold is not None and len(hold) > 3 else None
        self.limit = limit  # seconds its one task may run (a task with a limit travels alone)
        self.started = None  # when its rank began it (monotonic), for the limit

class MPIExecutor:
    """Rank 0's adapter: messages go to worker ranks over autofuture's communicator."""

    name = "mpi"
    inline = False
    wants_labels = True  # a lost rank's error names the task it was running
    holds = True  # big results stay on their rank (see executors.mpi.holding)
    enforces_timeouts = True  # a rank past a task's limit is given up (see timelimits)

    def __init__(self):
        if _world.comm is None or _world.rank != 0 or _world.size < 2:
            raise RuntimeError("the mpi executor runs on rank 0 of python -m autofuture "
                               "under mpiexec with more than one process")
        self.capture = "process"
        self._comm = _world.comm
        self._ranks = list(range(1, _world.size))
        self._load = dict.fromkeys(self._ranks, 0)
        self._free = collections.deque(self._ranks)  # ranks with load 0 (entries may be stale)
        self._half = collections.deque()             # ranks with load 1 (entries may be stale)
        self._queue: collections.deque = collections.deque()
        self._sent: dict[int, _Message] = {}
        self._lost: dict[int, str] = {}
        self._recovered: set[int] = set()  # lost ranks whose task succeeded on a retry
        self._orphans: list = []  # sends to a lost rank, which turns them down before it stops
        self._ids = itertools.count()
        self._fetches: dict = {}  # ident -> (rank, concurrent future) of rank 0's fetches
        self._message_seconds = None
        self._broken = None
        self._closing = False
        self._abandon = False
        self._shut = False
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        # Under MPI_THREAD_SERIALIZED, one lock around every MPI call, and polling.
        self._mpi_lock = threading.Lock() if not _world.multiple else None
        self._limited = 0  # messages with a time limit in flight
        self._hung = False  # a rank was given up running a task past its limit
        self._police_thread = None
        self._thread = threading.Thread(target=self._receive_loop, name="autofuture-mpi",
                                        daemon=True)
        self._thread.start()
        _world.executor = self

    @property
    def workers(self) -> int:
        return max(1, len(self._ranks) - len(self._lost))

    # -- the workflow thread --------------------------------------------------------------

    def submit(self, message, labels=None, timeouts=None):
        """Send ``message`` to a free rank, or queue it; the future's result is run_batch's."""
        if labels is None:
            labels = ["a task"] * len(message[2])
        limit = timeouts[0] if timeouts and len(timeouts) == 1 else None
        future = concurrent.futures.Future()
        with self._lock:
            if self._broken is not None:
                raise WorkerLostError(self._broken)
            if len(self._lost) == len(self._ranks):
                future.set_result(_failed_results(labels, "not run: " + self._lost_text()))
                return future
            self._queue.append(_Message(next(self._ids), future, labels, message, limit))
            if limit is not None:
                timelimits.start(self)
            failed = self._pump()
        _fail(failed, self._broken)
        return future

    def _pump(self) -> list:
        """Send queued messages to ranks with room (lock held); messages that failed to go."""
        depth = 2 if (self._message_seconds is not None
                      and self._message_seconds < PREFETCH_BELOW_SECONDS) else 1
        failed = []
        waiting: collections.deque = collections.deque()  # for a busy rank holding their data
        while self._queue:
            item = self._queue.popleft()
            rank = self._choose(item, depth)
            if rank is None or rank is _FULL:
                waiting.append(item)
                if rank is _FULL:
                    break  # no rank has room
                continue
            try:
                header = (item.id, item.labels, self.capture, item.message)
                if self._mpi_lock is None:
                    item.request = self._comm.isend(header, rank, TASKS)
                else:
                    with self._mpi_lock:
                        item.request = self._comm.isend(header, rank, TASKS)
            except Exception as exc:
                self._broken = f"sending a task to MPI rank {rank} failed: {exc}"
                failed.append(item)
                failed.extend(self._queue)
                self._queue.clear()
                break
            doorbell.ring(rank)
            item.rank = rank
            self._sent[item.id] = item
            timelimits.sent(item, self._load[rank])
            self._set_load(rank, self._load[rank] + 1)
        waiting.extend(self._queue)
        self._queue = waiting
        if self._sent:
            self._changed.notify_all()
        return failed

    def _choose(self, item, depth: int):
        """The rank holding most of the message's input bytes, when it has room, or when
        moving them would cost more than waiting for it; else any rank with room."""
        near = item.near
        if near:
            best = max(near, key=near.get)
            if best in self._load and best not in self._lost:
                if self._load[best] < depth:
                    return best
                wait = self._message_seconds or 0.0
                if near[best] / MOVE_BYTES_PER_SECOND >= wait:
                    return None
        rank = self._pick(depth)
        return _FULL if rank is None else rank

    def _pick(self, depth: int):
        """A rank with room: the idle rank that finished last first (its caches are
        warm and, probing, it still polls without sleeping, SPIN_SECONDS_WORKER), so
        one task at a time costs the least wake-up; then a rank with one message."""
        for pool, load in ((self._free, 0), (self._half, 1)):
            if load >= depth:
                break
            while pool:
                rank = pool.pop() if load == 0 else pool.popleft()
                if self._load[rank] == load and rank not in self._lost:
                    return rank
        return None

    def _set_load(self, rank: int, load: int) -> None:
        self._load[rank] = load
        if load == 0:
            if len(self._free) > 4 * len(self._ranks):  # stale entries (see _choose)
                self._free = collections.deque(
                    r for r in self._ranks if self._load[r] == 0 and r != rank)
            self._free.append(rank)
        elif load == 1:
            self._half.append(rank)

    # -- the communication thread --------------------------------------------------------

    def _receive_loop(self) -> None:
        from mpi4py import MPI

        status = MPI.Status()
        try:
            while True:
                with self._lock:
                    while not self._sent and not self._fetches and not self._closing:
                        self._changed.wait()
                    if self._closing and not self._sent and not self._abandon:
                        return
                message = _next_message(self._comm, MPI.ANY_SOURCE, status,
                                        SPIN_SECONDS_RANK0, self._mpi_lock)
                if self._mpi_lock is None:
                    reply = message.recv()
                else:
                    with self._mpi_lock:
                        reply = message.recv()
                source = status.Get_source()
                if source == 0:  # WAKE: shutdown gave up on busy ranks
                    return
                self._handle(source, reply)
        except BaseException as exc:  # noqa: BLE001 - every waiter must hear of it
            with self._lock:
                self._broken = (f"rank 0's MPI communication failed ({type(exc).__name__}: "
                                f"{exc}); the run cannot go on")
                failed = list(self._sent.values()) + list(self._queue)
                self._sent.clear()
                self._queue.clear()
                self._changed.notify_all()
            _fail(failed, self._broken)

    def _handle(self, source: int, reply) -> None:
        kind, ident = reply[0], reply[1]
        done = None
        if kind == "data":  # a held value rank 0 asked for
            with self._lock:
                waiter = self._fetches.pop(ident, None)
            if waiter is not None:
                waiter[1].set_result((reply[2], reply[3]))
            return
        with self._lock:
            if source in self._lost:
                return  # a parked rank turning down a message it was sent before it was lost
            if kind == "lost":
                done = self._rank_lost(source, reply)
            else:
                item = self._sent.pop(ident, None)
                if item is None:
                    return
                self._set_load(source, self._load[source] - 1)
                if self._limited:
                    timelimits.finished(self, item, source)
                if kind == "done":
                    results = reply[2]
                    seconds = sum(timing[1] - timing[0] for _, _, _, timing in results)
                    previous = self._message_seconds
                    self._message_seconds = (seconds if previous is None
                                             else 0.7 * previous + 0.3 * seconds)
                    done = (item, results)
                else:  # "skipped": the rank was told to cancel
                    done = (item, None)
            failed = self._pump()
            self._changed.notify_all()
        _fail(failed, self._broken)
        if done is not None:
            item, results = done
            _wait_quietly(item.request)
            if results is None:
                item.future.cancel()
            else:
                item.future.set_result(results)

    def _rank_lost(self, rank: int, reply):
        """A worker ended its own process inside a task (lock held)."""
        _, ident, index, completed, output, frames, how, host = reply
        item = self._sent.pop(ident, None) if ident is not None else None
        label = None
        if item is not None and index is not None and index < len(item.labels):
            label = item.labels[index]
        where = f"MPI rank {rank} ({host})"
        for fetch_id, (holder, waiter) in list(self._fetches.items()):
            if holder == rank:
                del self._fetches[fetch_id]
                waiter.set_exception(WorkerLostError(f"{where} was lost: {how}"))
        self._lost[rank] = (f"{where} was lost while running task {label}: {how}"
                            if label else f"{where} was lost: {how}")
        # Another rank may run the task again (retries), unless none is left.
        again = (rank, f"{where} was lost: {how}") if len(self._lost) < len(self._ranks) \
            else None
        # Messages the rank was sent but never started go to the other ranks.
        for other in sorted((m for m in self._sent.values() if m.rank == rank),
                            key=lambda m: m.id, reverse=True):
            del self._sent[other.id]
            self._orphans.append(other.request)
            other.rank = other.request = None
            self._queue.appendleft(other)
        if len(self._lost) == len(self._ranks):
            why = "not run: " + self._lost_text()
            for queued in self._queue:
                queued.future.set_result(_failed_results(queued.labels, why))
            self._queue.clear()
        if item is None:
            return None
        if again is not None:
            message = (f"{self._lost[rank]}. A lost MPI rank cannot be replaced: the run "
                       "ends with a non-zero status.")
        else:
            earlier = self._lost_text([other for other in self._lost if other != rank])
            message = (f"{self._lost[rank]}. It was the last MPI rank running tasks"
                       + (f" (before it, {earlier})" if earlier else "")
                       + ": the run ends with a non-zero status.")
        if index is None:
            return item, _failed_results(item.labels, message, frames, output, again)
        results = list(completed) + _failed_results([label], message, frames, output, again)
        context, function_payloads, tasks = item.message[:3]
        if len(results) < len(tasks):
            # The tasks after it never ran: another rank runs them, and the whole
            # message's future completes with both parts.
            rest = _Message(next(self._ids), concurrent.futures.Future(),
                            item.labels[len(results):],
                            (context, function_payloads, tasks[len(results):],
                             *item.message[3:]))
            rest.future.add_done_callback(lambda done: _join(item.future, results, done))
            self._orphans.append(item.request)
            self._queue.appendleft(rest)
            if len(self._lost) == len(self._ranks):
                self._queue.popleft()
                rest.future.set_result(_failed_results(rest.labels,
                                                       "not run: " + self._lost_text()))
            return None
        return item, results

    def _lost_text(self, ranks=None) -> str:
        return "; ".join(self._lost[rank] for rank in sorted(self._lost if ranks is None
                                                              else ranks))

    def recovered(self, ranks) -> None:
        """The task that was running on each of these lost ranks succeeded on a retry."""
        with self._lock:
            self._recovered.update(ranks)

    # -- held results ----------------------------------------------------------------------

    def alive(self, address) -> bool:
        return address[1] not in self._lost

    def holder_name(self, address) -> str:
        return address[2]

    def fetch(self, address, key, take: bool = False):
        """(value, bytes) of a result rank ``address[1]`` holds; it answers between tasks."""
        rank = address[1]
        waiter = concurrent.futures.Future()
        with self._lock:
            if self._broken is not None or rank in self._lost:
                raise WorkerLostError(self._broken or self._lost[rank])
            ident = next(self._ids)
            self._fetches[ident] = (rank, waiter)
            self._isend(("get", key, take, ident), rank, FETCH)
            self._changed.notify_all()
        value, nbytes = waiter.result()
        if value is None:
            raise KeyError(key)
        return value, nbytes

    def free(self, address, keys) -> None:
        if address is not None and address[1] not in self._lost:
            with self._lock:
                self._isend(keys, address[1], FREE)

    def drop(self, addresses, run) -> None:
        """Nothing to do: worker ranks end with the run."""

    def _isend(self, message, rank: int, tag: int) -> None:
        if self._mpi_lock is None:
            request = self._comm.isend(message, rank, tag)
        else:
            with self._mpi_lock:
                request = self._comm.isend(message, rank, tag)
        doorbell.ring(rank)
        self._orphans.append(request)

    # -- the end ---------------------------------------------------------------------------

    def shutdown(self, cancel: bool = False) -> None:
        if self._shut:
            return
        self._shut = True
        status = _status_of(sys.exc_info()[1])
        with self._lock:
            self._closing = True
            dropped = list(self._queue) if cancel else []
            if cancel:
                self._queue.clear()
            busy = [rank for rank in self._ranks if self._load[rank] and rank not in self._lost]
            self._changed.notify_all()
        for item in dropped:
            item.future.cancel()
        if cancel and busy:
            self._send_all(CANCEL, busy)
        # Ctrl-C or SIGTERM: whoever sent it wants out, not the last results.
        grace = CANCEL_GRACE_SECONDS if status == 1 else CTRL_C_GRACE_SECONDS
        deadline = time.monotonic() + grace if cancel else None
        try:
            with self._lock:
                while self._sent and self._broken is None:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        break
                    self._changed.wait(left)
        except (KeyboardInterrupt, Terminated) as exc:
            status = _status_of(exc)
        with self._lock:
            stuck = bool(self._sent) or self._broken is not None or self._hung
            self._abandon = stuck
        if stuck:
            # Ranks still run tasks: the job ends with MPI_Abort once rank 0 has said why.
            _world.abort_status = _world.abort_status or status or int(self._hung)
            if self._thread.is_alive() and self._broken is None:
                self._wake()
        self._thread.join(timeout=5)
        if not cancel and self._lost:
            _flush()
            self._report_lost()
        if not stuck:
            _release()
            for request in self._orphans:
                _wait_quietly(request)
        _world.executor = None

    def _report_lost(self) -> None:
        """At the end of a run that went on after losing ranks: say so, and set its status.

        A lost rank whose task then succeeded on another rank (retries) cost
        only time: the results are complete, and the status stays the
        program's. Any other loss (the program caught the WorkerLostError)
        ends the run non-zero, since a result is missing.
        """
        failed = [rank for rank in self._lost if rank not in self._recovered]
        recovered = [rank for rank in self._lost if rank in self._recovered]
        left = len(self._ranks) - len(self._lost)
        if recovered:
            print(f"autofuture: {self._lost_text(recovered)}. "
                  f"{'The task' if len(recovered) == 1 else 'Each of these tasks'} succeeded "
                  f"when retried on another rank; the run finished with {left} of its "
                  f"{len(self._ranks)} worker ranks.", file=sys.stderr)
        if failed:
            print(f"autofuture: {self._lost_text(failed)}; the run ends with a non-zero "
                  "status", file=sys.stderr)
            _world.exit_status = 1

    def _wake(self) -> None:
        if self._mpi_lock is None:
            request = self._comm.isend(None, 0, WAKE)
        else:
            with self._mpi_lock:
                request = self._comm.isend(None, 0, WAKE)
        doorbell.ring(0)
        request.wait()

    def fail(self, items) -> None:
        _fail(items, self._broken)

    @staticmethod
    def failed_results(labels, message: str, again=None, error=WorkerLostError) -> list:
        return _failed_results(labels, message, again=again, error=error)

    def _send_all(self, tag: int, ranks) -> None:
        requests = []
        for rank in ranks:
            if self._mpi_lock is None:
                requests.append(self._comm.isend(None, rank, tag))
            else:
                with self._mpi_lock:
                    requests.append(self._comm.isend(None, rank, tag))
            doorbell.ring(rank)
        for request in requests:
            _wait_quietly(request)

def _fail(items, why=None) -> None:
    for item in items:
        if not item.future.done():
            item.future.set_exception(WorkerLostError(why or "the MPI executor is broken"))

def _join(future, head: list, rest) -> None:
    """Complete a message's future from its first part and the part that ran elsewhere."""
    if rest.cancelled():
        future.cancel()
    elif rest.exception() is not None:
        future.set_exception(rest.exception())
    else:
        future.set_result(head + rest.result())

def _failed_results(labels, message: str, frames=(), output=(), again=None,
                    error=WorkerLostError) -> list:
    """One failed run_batch result per label, each a WorkerLostError (or ``error``).

    ``again``: (rank, what happened) when the tasks were running on a rank that
    was lost and another rank could run them again; the scheduler retries them
    if they have retries left, and tells ``MPIExecutor.recovered`` when they succeed.
    """
    exc = error(message)
    if again is not None:
        exc._af_rank_lost = again
    info = runner.error_info(exc, frames=tuple(frames))
    now = time.time()
    return [(False, info, list(output) if i == 0 else [], (now, now, "mpi"))
            for i in range(len(labels))]
