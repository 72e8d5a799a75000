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
least loaded worker, one that is up rather than one still booting (while none
is up yet, messages wait for the first that comes up). Only the first worker
starts with the adapter; each other one starts once there are more messages,
queued or sent, than workers started (a one-task run never boots a second). Each worker is sent at
most one message while messages take long, two when they are short (so it
never waits for the round trip), as MPI ranks are.

A worker that dies breaks only its own pool: the results the others hold
stay, and only that pool is started again. Messages reach each worker over a
socket of its own (``executors.lokychannel``), not through loky's queues.
The task its slot file names is the one it killed (``lost_tasks``); the
others of its messages are innocent. A death nobody reports, and a task past
its time limit, are the watchdog's (``executors.watchdog``).
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
import threading
import time

from . import prespawn
from .holding import MOVE_BYTES_PER_SECOND, pid_of
from .loky import Loky, _pool_broken
from .lokychannel import Channel
from .slots import Slots, read_slot
from .spawning import (
    InitWorker,
    before_kills,
    sigint_deferred,
    start_resource_trackers_quietly,
    worker_env,
)
from .watchdog import Watchdog, join, kill_live, let_go, worker_pid

#: A worker gets a second message while its first runs only when messages take less.
PREFETCH_BELOW_SECONDS = 0.005

_FULL = object()


class LokyWorkers(Loky):
    """One single-process loky pool per worker, and a queue of messages in front of them."""

    enforces_timeouts = True

    def __init__(self, workers: int):
        self.slots = Slots()
        self.capture = "process"
        self.load = [0] * workers
        self.used = [False] * workers  # a worker that never ran a message holds nothing
        self.queue: collections.deque = collections.deque()
        self.lock = threading.Lock()  # before the channels: their callback takes it
        self.seconds = None  # a message's usual time on a worker (moving average)
        self.closed = False
        # id(channel future) -> (its pool, the future given out, the message), while it runs
        self.inflight: dict[int, tuple] = {}
        self.preloaded = None  # the preload message, sent first to each worker
        self.workers = workers
        # The first worker starts now, not at the first task; each other one once a
        # message more than there are workers is queued or sent (``_grow``). Each is
        # born with SIGINT blocked until it ignores it (see spawning.sigint_deferred).
        self.pools: list = []
        self.channels: list = []
        with sigint_deferred():
            start_resource_trackers_quietly()
        self._grow(1)
        self.pool = self.pools[0]
        self.watchdog = Watchdog(self)
        self.timed_out = self.watchdog.timed_out

    def _one(self):
        from loky import ProcessPoolExecutor

        return ProcessPoolExecutor(
            max_workers=1, initializer=InitWorker(),
            env=worker_env(self.slots.path))

    def _channel(self, pool) -> Channel:
        return Channel(pool, self.slots.path, self.capture, settled=self._settled)

    def _settled(self) -> None:
        """A worker came up (or ended booting): what waited for one goes now."""
        with self.lock:
            if self.closed or not self.queue:  # (empty while __init__ runs)
                return
            started = self._pump()
        _watch(self, started)

    def _grow(self, wanted: int) -> None:
        """Start workers until ``wanted`` are started (at most ``workers``; lock held).

        A one-task script never needs a second worker, whose boot (~80 ms of CPU)
        competed for the cores with the first one's and the workflow's (issue 16);
        a second message, queued or sent, starts the next one at once, not after
        the first message is done."""
        while len(self.pools) < min(wanted, self.workers):
            with sigint_deferred(), prespawn.adopting():
                pool = self._one()
                channel = self._channel(pool)
            self.pools.append(pool)
            self.channels.append(channel)
            if self.preloaded is not None:
                _preload(channel, self.preloaded)

    def preload(self, names: list[str]) -> None:
        """Each worker imports these packages before its first message (see
        ``worker.runner.preload``): the first message on each channel, and on
        each worker started later."""
        if names:
            from ..worker import runner

            with self.lock:
                self.preloaded = runner.preload_message(names)
                for channel in self.channels:
                    _preload(channel, self.preloaded)

    def submit(self, message, labels=None, timeouts=None):
        done = concurrent.futures.Future()
        if timeouts is not None:
            for (_, number, _), limit in zip(message[2], timeouts, strict=True):
                if limit:
                    self.watchdog.limits[number] = limit
        hold = message[3] if len(message) > 3 else None
        near = hold[3] if hold is not None and len(hold) > 3 else None
        with self.lock:
            if self.closed:
                raise RuntimeError("the pool was shut down")
            item = (message, done, near, time.monotonic())
            if self.queue and _first(self.queue[-1]) > _first(item):
                _in_order(self.queue, item)  # sent again after a loss: before later work
            else:
                self.queue.append(item)
            started = self._pump()
        _watch(self, started)
        return done

    def _pump(self) -> list:
        """Start queued messages on workers with room (lock held); what ``_watch`` then
        watches (outside the lock: a callback added to a done future runs at once)."""
        depth = 2 if self.seconds is not None and self.seconds < PREFETCH_BELOW_SECONDS else 1
        if len(self.pools) < self.workers:  # one worker per message queued or running
            self._grow(sum(self.load) + len(self.queue))
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
        # Of the least loaded, one already up. While every worker still boots, the
        # first messages wait here, not in a worker's channel: they go to whichever
        # comes up first (``_settled``), not to worker 0 while worker 1 is up (issue 16).
        channels = self.channels
        index = min(range(len(channels)), key=lambda i: (load[i], not channels[i].up()))
        if load[index] >= depth:
            return _FULL
        if not channels[index].up() and not any(c.settled_yet() for c in channels):
            return _FULL
        return index

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
        self.used[index] = True  # after a _replace too: this pool's worker has it
        self.inflight[id(inner)] = (self.pools[index], done, message)
        worker_pid(self.pools[index])  # known while it lives: _culprits needs it after
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
            self.channels[index] = self._channel(self.pools[index])
        self.used[index] = False
        if index == 0:
            self.pool = self.pools[0]

    def _done(self, index: int, inner, done, started: float) -> None:
        more = []
        with self.lock:
            flying = self.inflight.pop(id(inner), None)
            if flying is None:
                return  # given up (give_up): its message failed then
            self.load[index] -= 1
            seconds = time.monotonic() - started
            self.seconds = seconds if self.seconds is None else 0.7 * self.seconds + 0.3 * seconds
            if not self.closed:
                more = self._pump()
        _watch(self, more)
        if self.watchdog.limits:  # before the scheduler may send the task again
            for _, number, _ in flying[2][2]:
                self.watchdog.limits.pop(number, None)
        if inner.cancelled():
            done.cancel()
        elif inner.exception() is not None:
            exc = inner.exception()
            if isinstance(exc, _pool_broken()) and getattr(exc, "_af_culprits", None) is None:
                exc._af_culprits = self._culprits(flying[0])  # one for both its messages
            done.set_exception(exc)
        else:
            done.set_result(inner.result())

    def _culprits(self, pool) -> set[int]:
        """The task the pool's dead worker was running, from its slot file (none if it
        died between tasks): the only one of its messages' tasks charged for the loss."""
        culprits = getattr(pool, "_af_culprits", None)
        if culprits is not None:
            return set(culprits)
        pid = worker_pid(pool)
        slot = None
        if pid is not None:
            path = os.path.join(self.slots.path, str(pid))
            slot = read_slot(path)
            try:
                os.unlink(path)
            except OSError:
                pass
        pool._af_culprits = {slot[0]} if slot is not None and slot[0] else set()
        return set(pool._af_culprits)

    def lost_tasks(self, exc=None) -> set[int]:
        """The tasks the workers whose death failed ``exc``'s message were running."""
        culprits = getattr(exc, "_af_culprits", None)
        return culprits if culprits is not None else self.slots.lost_tasks()

    def give_up(self, index: int, pool, why: str) -> None:
        """The watchdog found ``pool``'s worker dead, unreported by loky: its messages are
        lost (with the culprit its slot file names), a fresh worker takes its place."""
        from .._errors import WorkerLostError

        with self.lock:
            if self.closed or self.pools[index] is not pool:
                return
            lost = [key for key, flying in self.inflight.items() if flying[0] is pool]
            dones = [self.inflight.pop(key)[1] for key in lost]
            self.load[index] -= len(lost)
            stuck = (getattr(pool, "_executor_manager_thread", None),
                     getattr(pool, "_result_queue", None))  # before shutdown lets go of them
            self._replace(index)
            more = self._pump()
        let_go(pool, *stuck)
        _watch(self, more)
        exc = WorkerLostError(f"the worker pool stopped delivering results: {why}")
        exc._af_culprits = self._culprits(pool)
        for done in dones:
            if not done.done():
                done.set_exception(exc)

    def shutdown(self, cancel: bool = False) -> None:
        with self.lock:
            self.closed = True
            queued, self.queue = list(self.queue), collections.deque()
        for _, done, _, _ in queued:
            done.cancel()
        if cancel or not all(self.used[:len(self.pools)]):
            before_kills()
        if cancel:
            for pool in self.pools:
                pool.shutdown(wait=False, kill_workers=True)
        else:  # each pool waits for its worker to end: all at once, not one after another
            for channel in self.channels:
                channel.close()
            waits = []  # all told to stop at once, then waited for, each not forever (join)
            for index, pool in enumerate(self.pools):
                waits.append((pool, getattr(pool, "_executor_manager_thread", None),
                              getattr(pool, "_result_queue", None)))
                # A worker that never ran a message (still booting, or only importing
                # what the script imports) holds no result and has printed nothing:
                # ended at once, the run does not wait for it to boot only to stop it.
                if not self.used[index]:
                    kill_live(pool)  # now: loky's own kill first walks /proc with psutil
                pool.shutdown(wait=False, kill_workers=not self.used[index])
            for pool, thread, results in waits:
                join(pool, thread, results)
        self.slots.remove()


def _preload(channel: Channel, message) -> None:
    try:
        channel.submit(message)
    except Exception:  # noqa: BLE001 - a dead worker: its first task says so
        pass


def _first(item) -> int:
    """The number of a queued message's first task: its place in program order."""
    return item[0][2][0][1]


def _in_order(queue: collections.deque, item) -> None:
    for index, other in enumerate(queue):
        if _first(other) > _first(item):
            queue.insert(index, item)
            return
    queue.append(item)


def _watch(adapter: LokyWorkers, started: list) -> None:
    for index, inner, done, when in started:
        inner.add_done_callback(
            lambda f, index=index, done=done, when=when: adapter._done(index, f, done, when))
