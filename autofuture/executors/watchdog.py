"""Watching the loky workers from the workflow's side: deaths loky misses, time limits.

loky learns of a worker's death from its process sentinel and fails the
pool's futures within milliseconds, almost always. Not always: a worker
that dies halfway through writing a result leaves half a message in the
result pipe, and loky's thread reads the rest of it forever, blind to the
death; the workflow would wait for good with no worker left (issue 14). So a
thread here looks, about every ``POLL_SECONDS``, at each worker that has
work: one found dead for ``STUCK_SECONDS`` without loky having said so is
given up (``LokyWorkers.give_up``: its messages fail as lost, a fresh worker
takes its place). The same look finds a task past its time limit
(``autofuture.task(timeout=...)``, ``--task-timeout``) by the start its
worker noted in its slot file, and kills that worker; the scheduler then
reads the loss as the task's ``TimeoutError``.
"""

from __future__ import annotations

import os
import signal
import threading
import time

from .slots import alive, read_slot
from .spawning import before_kills

#: How long a dead worker with work may stay unreported by loky before it is given up.
STUCK_SECONDS = 1.0

#: How often the watchdog looks at the workers that have work.
POLL_SECONDS = 0.1


class Watchdog:
    """One thread per adapter, started with it, ending when it is shut down."""

    def __init__(self, adapter):
        self.adapter = adapter
        self.limits: dict[int, float] = {}  # task number -> its time limit, while in flight
        self.timed_out: dict[int, float] = {}  # task number -> the limit it ran past
        self.dead_since: dict[int, float] = {}  # id(pool) -> when its worker was seen dead
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name="autofuture-watchdog")
        self.thread.start()

    def _run(self) -> None:
        adapter = self.adapter
        while not adapter.closed:
            time.sleep(POLL_SECONDS)
            try:
                self.look()
            except Exception:  # noqa: BLE001 - a pool changing under the look: look again
                pass

    def look(self) -> None:
        adapter = self.adapter
        with adapter.lock:
            busy = [(index, pool) for index, pool in enumerate(adapter.pools)
                    if adapter.load[index]]
        now = time.monotonic()
        for key in list(self.dead_since):
            if all(id(pool) != key for _, pool in busy):
                del self.dead_since[key]
        for index, pool in busy:
            pid = worker_pid(pool)
            if pid is None:
                continue
            if not alive(pid):
                since = self.dead_since.setdefault(id(pool), now)
                if now - since >= STUCK_SECONDS:
                    adapter.give_up(index, pool, (
                        f"its worker process {pid} died ({exit_code(pool, pid)}), and loky "
                        f"did not report it within {STUCK_SECONDS:g} s"))
                continue
            if self.limits:
                self._police(pid)

    def _police(self, pid: int) -> None:
        """Kill ``pid`` if the task it runs is past its time limit (also when stopped)."""
        path = os.path.join(self.adapter.slots.path, str(pid))
        slot = read_slot(path)
        if slot is None or not slot[0]:
            return
        number, since = slot
        limit = self.limits.get(number)
        if limit is None or time.time() - since <= limit:
            return
        try:
            # Stopped, it cannot move on to another task between the look at its slot
            # and the kill: the task killed is the one that ran too long.
            os.kill(pid, signal.SIGSTOP)
            if read_slot(path) != slot:
                os.kill(pid, signal.SIGCONT)
                return
            self.timed_out[number] = limit
            self.limits.pop(number, None)
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def worker_pid(pool) -> int | None:
    """The pid of a one-worker loky pool's process, once it is known."""
    pid = getattr(pool, "_af_pid", None)
    if pid is None:
        processes = list(getattr(pool, "_processes", None) or ())
        if processes:
            pid = pool._af_pid = processes[0]
    return pid


def exit_code(pool, pid: int) -> str:
    process = (getattr(pool, "_processes", None) or {}).get(pid)
    code = getattr(process, "exitcode", None)
    if code is None:
        return "exit code unknown"
    if code < 0:
        try:
            return f"exit code {signal.Signals(-code).name}"
        except ValueError:
            pass
    return f"exit code {code}"


def let_go(pool, thread, results) -> None:
    """Let a pool that stopped delivering go without waiting for its thread, which may be
    stuck: its worker is killed, its thread freed (``unwedge``) to end by itself."""
    if results is not None and thread is not None:
        threading.Thread(target=unwedge, args=(thread, results), daemon=True,
                         name="autofuture-unwedge").start()
    kill_live(pool)
    before_kills()
    try:
        pool.shutdown(wait=False, kill_workers=True)
    except Exception:  # noqa: BLE001 - a pool in this state may fail anything
        pass


def unwedge(thread, results) -> None:
    """Let loky's thread of a given-up pool end, or the interpreter's exit waits for it.

    Half a result in the pipe (its worker died writing it) keeps the thread
    reading forever. Zeros complete the message; loky cannot read it, declares
    the pool broken, and its thread ends. Gives up after a few seconds.
    """
    try:
        fd = results._writer.fileno()
        os.set_blocking(fd, False)
    except (AttributeError, OSError, ValueError):
        return
    chunk = bytes(1 << 16)
    deadline = time.monotonic() + 5.0
    while thread.is_alive() and time.monotonic() < deadline:
        try:
            os.write(fd, chunk)
        except BlockingIOError:
            time.sleep(0.001)
        except OSError:
            return


def kill_live(pool) -> None:
    """SIGKILL the pool's worker if it has not ended (never a pid whose process ended and
    was reaped: the system may have given it to another process)."""
    pid = worker_pid(pool)
    if pid is not None and alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def join(pool, thread, results) -> None:
    """Wait for a pool shut down cleanly to let its worker go, but not forever.

    loky joins its worker after telling it to stop; a worker killed as the run
    ended may have died holding the lock of the queue its stop comes by, and
    loky would wait for it forever. Once the worker has been dead for
    ``STUCK_SECONDS`` and loky still waits, its thread is freed.
    """
    if thread is None:
        return
    since = None
    while True:
        thread.join(timeout=0.05)
        if not thread.is_alive():
            return
        pid = worker_pid(pool)
        if since is None and pid is not None and alive(pid):
            continue
        since = since or time.monotonic()
        if time.monotonic() - since < STUCK_SECONDS:
            continue
        kill_live(pool)
        if results is not None:
            unwedge(thread, results)
        thread.join(timeout=5)
        return
