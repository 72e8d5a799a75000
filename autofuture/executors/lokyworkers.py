"""``--executor loky`` with addressable workers: tasks go to the worker holding their data.

loky's own pool hands each call to whichever worker takes it from a shared
queue, so a task could not be sent to the worker that holds its inputs (see
``worker.store``): a chain of steps on big arrays would move each array
between workers at every step. Here each worker is a loky pool of one process
(loky still spawns it cleanly, notices its death, and starts a new one), and
this adapter keeps the queue: a message goes to the worker holding most of
its held input bytes (the ``near`` part of the message, from
``runtime.locality``) when that worker has room, or, when it is busy, to an
idle worker if moving the bytes (at ``MOVE_BYTES_PER_SECOND``) costs less than
waiting for a message's usual time; a message without held inputs goes to the
least loaded worker. Each worker is sent at most one message while messages
take long, two when they are short (so it never waits for the round trip),
as MPI ranks are.

A worker that dies breaks only its own pool: the results the others hold
stay, and only that pool is started again. Messages reach each worker over a
socket of its own (``executors.lokychannel``), not through loky's queues.
"""

from __future__ import annotations

import collections
import concurrent.futures
import threading
import time

from ..worker import runner
from .holding import MOVE_BYTES_PER_SECOND, pid_of
from .loky import Loky, _pool_broken
from .lokychannel import Channel
from .spawning import sigint_deferred, start_resource_trackers_quietly

#: A worker gets a second message while its first runs only when messages take less.
PREFETCH_BELOW_SECONDS = 0.005

_FULL = object()


class LokyWorkers(Loky):
    """One single-process loky pool per worker, and a queue of messages in front of them."""

    def __init__(self, workers: int):
        import tempfile

        self.slots = tempfile.mkdtemp(prefix="autofuture-")
        self.lost: set[int] = set()
        self.capture = "process"
        # Every worker starts now, side by side, not at its first task, and is born
        # with SIGINT blocked until it ignores it (see spawning.sigint_deferred).
        with sigint_deferred():
            start_resource_trackers_quietly()
            self.pools = [self._one() for _ in range(workers)]
            self.channels = [Channel(pool, self.slots, self.capture) for pool in self.pools]
        self.load = [0] * workers
        self.queue: collections.deque = collections.deque()
        self.lock = threading.Lock()
        self.seconds = None  # a message's usual time on a worker (moving average)
        self.closed = False
        self.pool = self.pools[0]
        self.workers = workers

    def _one(self):
        from loky import ProcessPoolExecutor

        return ProcessPoolExecutor(
            max_workers=1, initializer=runner.init_worker,
            env={"AUTOFUTURE_WORKER": "1", "AUTOFUTURE_SLOTS": self.slots})

    def preload(self, names: list[str]) -> None:
        """Each worker imports these packages before its first message (see
        ``worker.runner.preload``): the first message on each channel."""
        if names:
            message = runner.preload_message(names)
            for channel in self.channels:
                try:
                    channel.submit(message)
                except Exception:  # noqa: BLE001 - a dead worker: its first task says so
                    pass

    def submit(self, message, labels=None):
        done = concurrent.futures.Future()
        hold = message[3] if len(message) > 3 else None
        near = hold[3] if hold is not None and len(hold) > 3 else None
        with self.lock:
            if self.closed:
                raise RuntimeError("the pool was shut down")
            self.queue.append((message, done, near, time.monotonic()))
            started = self._pump()
        _watch(self, started)
        return done

    def _pump(self) -> list:
        """Start queued messages on workers with room (lock held); what ``_watch`` then
        watches (outside the lock: a callback added to a done future runs at once)."""
        depth = 2 if self.seconds is not None and self.seconds < PREFETCH_BELOW_SECONDS else 1
        waiting: collections.deque = collections.deque()
        started: list = []
        while self.queue:
            item = self.queue.popleft()
            index = self._choose(item[2], depth)
            if index is None or index is _FULL:
                waiting.append(item)
                if index is _FULL:
                    break
                continue
            running = self._start(index, item)
            if running is not None:
                started.append(running)
        waiting.extend(self.queue)
        self.queue = waiting
        return started

    def _choose(self, near, depth: int):
        load = self.load
        if near:
            holders = self._holders()
            best = max(near, key=near.get)
            index = holders.get(pid_of(("unix", best)))
            if index is not None:
                if load[index] < depth:
                    return index
                if near[best] / MOVE_BYTES_PER_SECOND >= (self.seconds or 0.0):
                    return None  # cheaper to wait for the worker that has the data
        index = min(range(len(load)), key=load.__getitem__)
        return index if load[index] < depth else _FULL

    def _holders(self) -> dict:
        """pid -> index of the pool whose worker it is."""
        found = {}
        for index, pool in enumerate(self.pools):
            for pid in list(getattr(pool, "_processes", None) or ()):
                found[pid] = index
        return found

    def _start(self, index: int, item):
        message, done, _, _ = item
        self.load[index] += 1
        try:
            inner = self.channels[index].submit(message)
        except _pool_broken():
            self._replace(index)
            try:
                inner = self.channels[index].submit(message)
            except Exception as exc:  # noqa: BLE001 - the scheduler hears of it
                self.load[index] -= 1
                done.set_exception(exc)
                return None
        return index, inner, done, time.monotonic()

    def _replace(self, index: int) -> None:
        """A worker died: its pool is broken; a fresh one takes its place."""
        self.channels[index].close()
        try:
            self.pools[index].shutdown(wait=False)
        except Exception:
            pass
        with sigint_deferred():
            self.pools[index] = self._one()
            self.channels[index] = Channel(self.pools[index], self.slots, self.capture)
        if index == 0:
            self.pool = self.pools[0]

    def _done(self, index: int, inner, done, started: float) -> None:
        more = []
        with self.lock:
            self.load[index] -= 1
            seconds = time.monotonic() - started
            self.seconds = seconds if self.seconds is None else 0.7 * self.seconds + 0.3 * seconds
            if not self.closed:
                more = self._pump()
        _watch(self, more)
        if inner.cancelled():
            done.cancel()
        elif inner.exception() is not None:
            done.set_exception(inner.exception())
        else:
            done.set_result(inner.result())

    def shutdown(self, cancel: bool = False) -> None:
        import shutil

        with self.lock:
            self.closed = True
            queued, self.queue = list(self.queue), collections.deque()
        for _, done, _, _ in queued:
            done.cancel()
        if cancel:
            for pool in self.pools:
                pool.shutdown(wait=False, kill_workers=True)
        else:  # each pool waits for its worker to end: all at once, not one after another
            for channel in self.channels:
                channel.close()
            waits = [threading.Thread(target=pool.shutdown, daemon=True) for pool in self.pools]
            for wait in waits:
                wait.start()
            for wait in waits:
                wait.join()
        shutil.rmtree(self.slots, ignore_errors=True)


def _watch(adapter: LokyWorkers, started: list) -> None:
    for index, inner, done, when in started:
        inner.add_done_callback(
            lambda f, index=index, done=done, when=when: adapter._done(index, f, done, when))
