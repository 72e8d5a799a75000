"""MPI: ``mpiexec -n N python -m autofuture script.py``; rank 0 drives, the others compute.

::

    rank 0                                              ranks 1..N-1: serve()
    ──────                                              ─────────────────────
    workflow thread: submit(message) ─┐                 mprobe(0) ─> run_batch ─> send
                                      ├─ queue ─> isend TASKS ──────┘                │
    communication thread: mprobe(ANY) <───────────── DONE / LOST / SKIPPED ──────────┘
        completes the concurrent future, sends the next queued message to the freed rank
    end of run: STOP to every rank, which answers BYE and finalizes MPI at once;
                after an error with ranks still busy, MPI_Abort at exit

All traffic is on a duplicate of ``COMM_WORLD`` (tasks may use ``COMM_WORLD``
themselves) and uses pickle protocol 5 (``mpi4py.util.pkl5``): the large
buffers a message carries out of band (numpy arrays) are sent from their own
memory and received into the memory the worker's arrays then use, with no
copy on either side. No process is spawned and no port is opened.

A rank is sent at most one message while its message times are unknown or
long, two while they are short (so it never waits for the round trip); the
rest wait on rank 0 and go to whichever rank frees up first, so a long task
never holds a short one hostage behind it.

Waiting for a message: ``AUTOFUTURE_MPI_WAIT=poll`` (the default) probes
without pause for a moment after each message (a round trip stays in the tens
of microseconds) and then sleeps between probes, at most 200 µs at a time, so
an idle rank leaves its core to others (3 ranks on a 2-core laptop, or rank
0's workflow thread); ``block`` waits in MPI's blocking probe, which spins on
its core for as long as it waits (the lowest latency when every rank has a
core of its own).

Failures. A task exception is an ordinary task error. A worker that ends its
own process (``os._exit``, ``os.kill`` of itself, ``os.abort``, C's ``exit``),
also while unpickling a task's arguments or pickling its result, first tells
rank 0 which task it was running, then waits for the end of the run: rank 0
fails that task with ``WorkerLostError`` in program order, or runs it again on
another rank if it has retries left, and never uses the rank again. The run
then exits non-zero, even if the program catches the error, unless every such
task succeeded on a retry. A crash in native code (a segfault) prints
Python's fault handler dump, whose frames name the task and its call site; the
launcher then ends every rank with a non-zero status. A rank killed from
outside (``kill -9``, the OOM killer) is reported by the launcher alone: it
kills every rank, rank 0 included, within milliseconds, before rank 0 could
say anything.

Ending. Worker ranks ignore SIGINT and SIGTERM, which launchers forward to
every rank: rank 0 decides (130, 143). A worker rank leaves by itself when
rank 0 dies on its node or when the launcher's process that started it dies,
and rank 0 when its own launcher process dies: not every launcher kills the
job when one rank dies.
"""

from __future__ import annotations

import atexit
import collections
import concurrent.futures
import faulthandler
import itertools
import os
import signal
import sys
import threading
import time
import types

from . import _config, _context, _serialize, _worker
from ._errors import Terminated, WorkerLostError

# Message tags on autofuture's communicator.
TASKS, RESULT, CANCEL, STOP, WAKE, BYE = 1, 2, 3, 4, 5, 6

#: A rank gets a second message while its first runs only when messages take less.
PREFETCH_BELOW_SECONDS = 0.005

#: After an error or Ctrl-C, how long busy ranks may take to finish their message
#: before rank 0 aborts the whole job.
CANCEL_GRACE_SECONDS = 1.0
CTRL_C_GRACE_SECONDS = 0.2

#: Before MPI_Abort, time for the launcher to forward rank 0's last output.
ABORT_DRAIN_SECONDS = 0.25

#: How often a worker rank looks whether rank 0 (on its node) is still there.
ROOT_WATCH_SECONDS = 0.5

#: Waiting for a message (``poll``): probe without pause this long after the last
#: message (workers, rank 0's communication thread), then sleep between probes,
#: doubling from the first sleep up to the longest.
SPIN_SECONDS_WORKER = 0.001
SPIN_SECONDS_RANK0 = 0.0002
FIRST_SLEEP_SECONDS = 0.00002
LONGEST_SLEEP_SECONDS = 0.0002

#: Environment variables that describe one process of the job, not the workflow:
#: a worker keeps its own values when it takes on the workflow's environment.
_PER_PROCESS_PREFIXES = ("PMI_", "PMIX_", "OMPI_", "HYDRA_", "HYDI_", "MPI_LOCAL", "PALS_",
                         "MV2_COMM_WORLD", "PRTE_", "SLURM_PROCID", "SLURM_LOCALID",
                         "SLURM_NODEID", "SLURM_TASK_PID", "SLURMD_NODENAME")
_PER_PROCESS_NAMES = frozenset({"HOSTNAME", "CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES",
                                "HIP_VISIBLE_DEVICES", "ZE_AFFINITY_MASK", "AUTOFUTURE_WORKER"})


# -- the launcher, without importing mpi4py ---------------------------------------------

def _env_int(*names: str) -> int | None:
    for name in names:
        value = os.environ.get(name)
        if value is not None:
            try:
                return int(value)
            except ValueError:
                continue
    return None


def _slurm_step() -> bool:
    """Inside an ``srun`` step (a batch script's own shell has SLURM_NTASKS, not these)."""
    return "SLURM_PROCID" in os.environ and "SLURM_STEP_NUM_TASKS" in os.environ


#: Set by launchers that say a process's rank but not how many there are.
_RANK_ONLY = ("PMIX_RANK", "PALS_RANKID", "PMI_RANK")


def world_size_hint() -> int:
    """How many processes the MPI launcher started, from its environment; 1 if none.

    Read from the launcher's variables, so plain local runs never load MPI;
    only under a launcher that gives ranks but no count (PMIx, Cray PALS) is
    MPI asked.
    """
    size = _env_int("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE")
    if size is None and _slurm_step():
        size = _env_int("SLURM_STEP_NUM_TASKS")
    if size is None and any(name in os.environ for name in _RANK_ONLY):
        try:
            from mpi4py import MPI
        except ImportError:
            return 1
        size = MPI.COMM_WORLD.Get_size()
    return max(size or 1, 1)


def world_rank_hint() -> int:
    """This process's rank according to the launcher's environment (0 if none)."""
    rank = _env_int("OMPI_COMM_WORLD_RANK", "PMI_RANK", "MV2_COMM_WORLD_RANK", "PMIX_RANK",
                    "PALS_RANKID")
    if rank is None and _slurm_step():
        rank = _env_int("SLURM_PROCID")
    return rank or 0


# -- the world ----------------------------------------------------------------------------

class _World:
    comm = None        # pkl5.Intracomm over a duplicate of COMM_WORLD
    rank = 0
    size = 1
    multiple = True    # MPI_THREAD_MULTIPLE: rank 0's two threads may call MPI at once
    block = False      # AUTOFUTURE_MPI_WAIT=block: wait in MPI's blocking probe
    executor = None    # rank 0's MPIExecutor, once a task ran
    released = False   # rank 0 told every worker to stop
    abort_status = 0   # rank 0 aborts the job at exit with this status
    root = None        # rank 0's (host, pid, start time), for worker ranks to watch
    exit_status = 0    # rank 0 exits with this status (a rank was lost, the program went on)


_world = _World()


def launch(executor: str | None) -> int | None:
    """Called by ``python -m autofuture`` under a launcher with more than one process.

    Returns the exit status for ranks 1..N-1 (which serve tasks, or leave at
    once when another executor was asked for) and None on rank 0, which runs
    the workflow.
    """
    if executor not in (None, "mpi"):
        return 0 if world_rank_hint() > 0 else None
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        if world_rank_hint() == 0:
            print(f"autofuture: the MPI launcher started {world_size_hint()} processes, and "
                  "running under it needs mpi4py: pip install 'autofuture[mpi]' (see "
                  "docs/mpi.md), or run without mpiexec", file=sys.stderr)
        return 1
    rank = start()
    if rank is None:
        return 1
    if rank > 0:
        return serve()
    return None


def start() -> int | None:
    """Initialize MPI and autofuture's communicator; this process's rank, None if alone."""
    from mpi4py import MPI
    from mpi4py.util import pkl5

    world = MPI.COMM_WORLD
    if world.Get_size() == 1:
        if world_rank_hint() == 0:
            library = MPI.Get_library_version().splitlines()[0].strip()
            print(f"autofuture: the launcher started {world_size_hint()} processes, but MPI sees "
                  "each one alone (COMM_WORLD has size 1): mpi4py was built against another MPI "
                  f"library ({library}) than the launcher's. Use that library's mpiexec, or "
                  "rebuild mpi4py against the launcher's MPI (see docs/mpi.md).", file=sys.stderr)
        return None
    _world.comm = pkl5.Intracomm(world.Dup())
    _world.comm.Set_name("autofuture")
    _world.rank = world.Get_rank()
    _world.size = world.Get_size()
    _world.multiple = MPI.Query_thread() >= MPI.THREAD_MULTIPLE
    _world.block = _config.env_str("MPI_WAIT", "poll").strip().lower() == "block"
    if _world.rank == 0:
        # Registered before the script runs, so it runs after the script's own handlers.
        atexit.register(_at_exit)
        _watch_launcher()
    here = (_hostname(), os.getpid(), _started(os.getpid())) if _world.rank == 0 else None
    _world.root = _world.comm.bcast(here, root=0)
    return _world.rank


def create(workers: int | None):
    """The executor for ``--executor mpi``: MPI ranks, or loky when there is only one rank."""
    if _world.comm is None or _world.size < 2:
        from . import _executors

        print("autofuture: --executor mpi needs more than one MPI process (run "
              "mpiexec -n N python -m autofuture ... with N >= 2); using loky instead",
              file=sys.stderr)
        return _executors.Loky(workers or _executors.default_workers())
    return MPIExecutor()


def _at_exit() -> None:
    executor = _world.executor
    if executor is not None:
        executor.shutdown(cancel=True)
    _flush()
    from mpi4py import MPI

    if _world.abort_status:
        _abort(_world.abort_status)
    _release()
    if _world.exit_status:
        MPI.Finalize()
        _exit_finalized(_world.exit_status)


def _release() -> None:
    """Tell every worker rank to leave serve(), and wait until each has said goodbye.

    A rank finalizes MPI as soon as it has answered, long before rank 0 gets
    to exit: the launcher kills every process that has not finalized MPI yet
    when one exits with a non-zero status, as rank 0 does after an error.
    """
    if _world.released or _world.comm is None:
        return
    _world.released = True
    comm = _world.comm
    ranks = range(1, _world.size)
    for request in [comm.isend(None, rank, STOP) for rank in ranks]:
        request.wait()
    waiting = set(ranks)
    deadline = time.monotonic() + 30
    while waiting:
        for rank in list(waiting):
            if comm.Iprobe(rank, BYE):
                comm.recv(None, rank, BYE)  # every part of the message, or MPI waits for it
                waiting.discard(rank)
        if waiting and time.monotonic() > deadline:
            print(f"autofuture: MPI ranks {sorted(waiting)} did not stop; aborting the job",
                  file=sys.stderr)
            _abort(1)
        time.sleep(0.0005 if waiting else 0)


def _abort(status: int) -> None:
    """End every rank of the job now (ranks still run tasks), with ``status``."""
    from mpi4py import MPI

    _flush()
    # The launcher forwards what rank 0 wrote through a pipe it drains in its own
    # time, and an abort can overtake it: give it a moment, or the traceback is cut.
    time.sleep(ABORT_DRAIN_SECONDS)
    # MPI_Abort prints a line of its own ("Abort(1) on node 0 ...") after rank 0 has
    # said why the run ends; the error, or KeyboardInterrupt, stays the last line.
    try:
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 2)
    except OSError:
        pass
    MPI.COMM_WORLD.Abort(status)


def _exit_finalized(status: int) -> None:
    """End a process that has finalized MPI without returning to Python.

    Through libc's exit, which runs the C libraries' exit handlers: MPICH's
    launcher takes a bare ``_exit`` after MPI_Finalize for a crash, and kills
    every other process of the job.
    """
    _flush()
    try:
        import ctypes

        ctypes.CDLL(None).exit(status)
    except (OSError, AttributeError, TypeError):
        pass
    _real.get("_exit", os._exit)(status)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass


# -- rank 0 --------------------------------------------------------------------------------

class _Message:
    __slots__ = ("id", "future", "labels", "message", "rank", "request")

    def __init__(self, ident, future, labels, message):
        self.id = ident
        self.future = future
        self.labels = labels
        self.message = message
        self.rank = None
        self.request = None


class MPIExecutor:
    """Rank 0's adapter: messages go to worker ranks over autofuture's communicator."""

    name = "mpi"
    inline = False
    wants_labels = True  # a lost rank's error names the task it was running

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
        self._message_seconds = None
        self._broken = None
        self._closing = False
        self._abandon = False
        self._shut = False
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        # Under MPI_THREAD_SERIALIZED, one lock around every MPI call, and polling.
        self._mpi_lock = threading.Lock() if not _world.multiple else None
        self._thread = threading.Thread(target=self._receive_loop, name="autofuture-mpi",
                                        daemon=True)
        self._thread.start()
        _world.executor = self

    @property
    def workers(self) -> int:
        return max(1, len(self._ranks) - len(self._lost))

    # -- the workflow thread --------------------------------------------------------------

    def submit(self, message, labels=None):
        """Send ``message`` to a free rank, or queue it; the future's result is run_batch's."""
        if labels is None:
            labels = ["a task"] * len(message[2])
        future = concurrent.futures.Future()
        with self._lock:
            if self._broken is not None:
                raise WorkerLostError(self._broken)
            if len(self._lost) == len(self._ranks):
                future.set_result(_failed_results(labels, "not run: " + self._lost_text()))
                return future
            self._queue.append(_Message(next(self._ids), future, labels, message))
            failed = self._pump()
        _fail(failed, self._broken)
        return future

    def _pump(self) -> list:
        """Send queued messages to ranks with room (lock held); messages that failed to go."""
        depth = 2 if (self._message_seconds is not None
                      and self._message_seconds < PREFETCH_BELOW_SECONDS) else 1
        failed = []
        while self._queue:
            rank = self._pick(depth)
            if rank is None:
                break
            item = self._queue.popleft()
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
            item.rank = rank
            self._sent[item.id] = item
            self._set_load(rank, self._load[rank] + 1)
        if self._sent:
            self._changed.notify_all()
        return failed

    def _pick(self, depth: int):
        for pool, load in ((self._free, 0), (self._half, 1)):
            if load >= depth:
                break
            while pool:
                rank = pool.popleft()
                if self._load[rank] == load and rank not in self._lost:
                    return rank
        return None

    def _set_load(self, rank: int, load: int) -> None:
        self._load[rank] = load
        if load == 0:
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
                    while not self._sent and not self._closing:
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
        context, function_payloads, tasks = item.message
        if len(results) < len(tasks):
            # The tasks after it never ran: another rank runs them, and the whole
            # message's future completes with both parts.
            rest = _Message(next(self._ids), concurrent.futures.Future(),
                            item.labels[len(results):],
                            (context, function_payloads, tasks[len(results):]))
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
            stuck = bool(self._sent) or self._broken is not None
            self._abandon = stuck
        if stuck:
            # Ranks still run tasks: the job ends with MPI_Abort once rank 0 has said why.
            _world.abort_status = _world.abort_status or status
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
            self._comm.isend(None, 0, WAKE).wait()
        else:
            with self._mpi_lock:
                request = self._comm.isend(None, 0, WAKE)
            request.wait()

    def _send_all(self, tag: int, ranks) -> None:
        requests = []
        for rank in ranks:
            if self._mpi_lock is None:
                requests.append(self._comm.isend(None, rank, tag))
            else:
                with self._mpi_lock:
                    requests.append(self._comm.isend(None, rank, tag))
        for request in requests:
            _wait_quietly(request)


def _status_of(exc) -> int:
    """The exit status a run ending with ``exc`` has: 130 for Ctrl-C, 143 for SIGTERM."""
    if isinstance(exc, KeyboardInterrupt):
        return 130
    if isinstance(exc, Terminated):
        return 128 + signal.SIGTERM
    return 1


def _next_message(comm, source, status, spin: float, lock=None):
    """The next message from ``source`` (matched, to be received), waiting as configured.

    ``lock``: under MPI_THREAD_SERIALIZED every probe holds it, and never
    blocks inside MPI while holding it.
    """
    from mpi4py import MPI

    tag = MPI.ANY_TAG
    if _world.block and lock is None:
        return comm.mprobe(source, tag, status)

    def probe():
        if lock is None:
            return comm.improbe(source, tag, status)
        with lock:
            return comm.improbe(source, tag, status)

    message = probe()
    if message is not None:
        return message
    deadline = time.perf_counter() + spin
    while time.perf_counter() < deadline:
        time.sleep(0)  # lets another thread of this process (the workflow) run
        message = probe()
        if message is not None:
            return message
    delay = FIRST_SLEEP_SECONDS
    while True:
        time.sleep(delay)
        message = probe()
        if message is not None:
            return message
        delay = min(2 * delay, LONGEST_SLEEP_SECONDS)


def _wait_quietly(request) -> None:
    if request is not None:
        try:
            request.wait()
        except Exception:
            pass


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


def _failed_results(labels, message: str, frames=(), output=(), again=None) -> list:
    """One failed run_batch result per label, each a WorkerLostError.

    ``again``: (rank, what happened) when the tasks were running on a rank that
    was lost and another rank could run them again; the scheduler retries them
    if they have retries left, and tells ``MPIExecutor.recovered`` when they succeed.
    """
    exc = WorkerLostError(message)
    if again is not None:
        exc._af_rank_lost = again
    info = (_serialize.dumps(exc), "WorkerLostError", message, list(frames),
            f"autofuture.WorkerLostError: {message}\n")
    now = time.time()
    return [(False, info, list(output) if i == 0 else [], (now, now, "mpi"))
            for i in range(len(labels))]


# -- ranks 1..N-1 --------------------------------------------------------------------------

class _Serving:
    pid = None
    ident = None        # the message being run, and its labels
    labels = None
    lost = False        # a task ended this process; it only waits for the end of the run
    leaving = False     # the process is ending on purpose


_serving = _Serving()
_real = {}


def serve() -> int:
    """Run the messages rank 0 sends until it says stop, then end this process.

    Never imports the user's script or a marked module: task functions arrive
    by value. The process ends through ``_leave_process`` (exit status 0),
    never by returning to Python's own shutdown.
    """
    from mpi4py import MPI

    comm = _world.comm
    _worker.init_worker()
    # The launcher forwards SIGTERM (mpiexec's, Slurm's scancel) to every rank: rank 0
    # ends the job, with status 143, and a worker that died of it first would make
    # the launcher kill rank 0 before it could.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.environ["AUTOFUTURE_WORKER"] = "1"
    _serving.pid = os.getpid()
    try:
        faulthandler.enable(file=sys.__stderr__, all_threads=False)
    except (AttributeError, ValueError, OSError):
        pass  # no usable stderr: the launcher still reports the crash
    _install_last_words()
    _watch_rank_zero(_world.root)
    # Launcher variables (PMI_RANK...) stay this rank's own whatever the workflow's are.
    _context.keep_own({k: v for k, v in os.environ.items() if _per_process(k)}, _per_process)
    status = MPI.Status()
    cancelled = False
    while True:
        message = _next_message(comm, 0, status, SPIN_SECONDS_WORKER)
        tag = status.Get_tag()
        request = message.recv()
        if tag == STOP:
            _goodbye()
            break
        if tag == CANCEL:
            cancelled = True
            continue
        ident, labels, capture, batch = request
        if cancelled or comm.Iprobe(0, CANCEL):
            cancelled = True
            comm.send(("skipped", ident), 0, RESULT)
            continue
        _serving.ident, _serving.labels = ident, labels
        results = _runner(labels)(batch, capture)
        _serving.ident = _serving.labels = None
        comm.send(("done", ident, results), 0, RESULT)
        if capture == "none":
            _flush()
    _leave_process()
    return 0


def _watch_rank_zero(root) -> None:
    """A worker rank on rank 0's node leaves, mid-task, within a second of rank 0's death.

    MPICH's mpiexec kills every rank when one dies, but not every launcher
    does (``mpiexec -disable-auto-cleanup``, ``srun`` without
    ``--kill-on-bad-exit``): without this, worker ranks would wait for rank 0
    forever. Ranks on other nodes cannot see rank 0's process; they end when
    the launcher or MPI notices.
    """
    if root is None:
        return
    host, pid, started = root
    if started is None or host != _hostname() or _started(pid) != started:
        return  # another node, or another pid namespace: not a process this one can see

    def watch():
        while _started(pid) == started:
            time.sleep(ROOT_WATCH_SECONDS)
        if not _serving.leaving:  # not at the end of the run, when rank 0 exits first
            _flush()
            _worker.exit_now(1)

    threading.Thread(target=watch, daemon=True, name="autofuture-rank0-watch").start()


def _watch_launcher() -> None:
    """Rank 0 ends the run when the launcher's process that started it dies.

    Worker ranks do the same (``_worker.init_worker``): with the launcher
    gone (its node daemon killed), no rank would be left to run a task, and
    rank 0 would wait for their results forever.
    """
    parent = os.getppid()
    if parent == 1:
        return  # started detached: there is no launcher process to watch

    def watch():
        while os.getppid() == parent:
            time.sleep(ROOT_WATCH_SECONDS)
        _flush()
        print(f"autofuture: the MPI launcher's process (pid {parent}) that started rank 0 is "
              "gone, and the job's other ranks with it: ending the run", file=sys.stderr)
        _flush()
        _worker.exit_now(1)

    threading.Thread(target=watch, daemon=True, name="autofuture-launcher-watch").start()


def _started(pid: int):
    """When process ``pid`` started (clock ticks since boot), None if it is gone or dead."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            fields = file.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def _leave_process() -> None:
    """End a worker that has finalized MPI: Python's exit handlers, then the C library's exit.

    Not Python's own shutdown: the C exit hook (``_on_c_exit``) calls Python,
    which it must never do after the interpreter is gone. Threads a task left
    running (one parked in ``_last_words``, say) end with the process.
    """
    _serving.leaving = True
    try:
        atexit._run_exitfuncs()
    except Exception:
        pass
    _exit_finalized(0)


def _goodbye() -> None:
    """Answer rank 0's STOP and finalize MPI at once (see ``_release``)."""
    from mpi4py import MPI

    _serving.leaving = True  # rank 0 may exit now, and nothing of this process reports
    _world.comm.send(None, 0, BYE)
    _flush()
    MPI.Finalize()


def _per_process(name: str) -> bool:
    return name.startswith(_PER_PROCESS_PREFIXES) or name in _PER_PROCESS_NAMES


def _run_message(batch, capture):
    return _worker.run_batch(batch, capture)


_runners: dict[str, types.FunctionType] = {}


def _runner(labels):
    """``_run_message`` under a name that says which tasks run, for the fault handler's dump.

    A segfault in a task prints Python's stack, where this frame reads
    ``File "<autofuture: MPI rank 2 was running>", line 2 in work() at script.py:9``.
    """
    unique = list(dict.fromkeys(labels))
    name = ", ".join(unique[:3]) + (f" and {len(unique) - 3} more" if len(unique) > 3 else "")
    runner = _runners.get(name)
    if runner is None:
        code = _run_message.__code__.replace(
            co_name=name, co_firstlineno=1,
            co_filename=f"<autofuture: MPI rank {_world.rank} was running>")
        if hasattr(code, "co_qualname"):
            code = code.replace(co_qualname=name)
        if len(_runners) > 256:
            _runners.clear()
        runner = _runners[name] = types.FunctionType(code, _run_message.__globals__)
    return runner


# -- a task ending its own process ----------------------------------------------------------

_FATAL_BY_DEFAULT = frozenset(
    getattr(signal, name) for name in (
        "SIGKILL", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGABRT", "SIGSEGV", "SIGBUS", "SIGFPE",
        "SIGILL", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGXCPU", "SIGXFSZ", "SIGSYS", "SIGTRAP",
        "SIGVTALRM", "SIGPROF", "SIGPWR", "SIGSTKFLT", "SIGINT", "SIGPIPE")
    if hasattr(signal, name))


def _install_last_words() -> None:
    """Make os._exit, os.kill of this process, os.abort and C's exit() report the task first."""
    if _real:
        return
    _real.update(_exit=os._exit, kill=os.kill, abort=os.abort)
    _install_c_exit_hook()

    def _exit(code):
        if _serving_here():
            _last_words(f"called os._exit({code!r})")
        _real["_exit"](code)

    def kill(pid, sig):
        if _serving_here() and pid in (0, os.getpid()) and _kills(sig):
            _last_words(f"sent its own process signal {signal.Signals(sig).name}")
        return _real["kill"](pid, sig)

    def abort():
        if _serving_here():
            _last_words("called os.abort()")
        _real["abort"]()

    # Also in the module they come from: pickle finds os._exit as posix._exit, so an
    # argument that calls it while it is unpickled would otherwise go unreported.
    for module in {os, sys.modules.get(os.name) or os}:
        module._exit, module.kill, module.abort = _exit, kill, abort


_c_exit_hook = None


def _install_c_exit_hook() -> None:
    """An extension calling the C library's ``exit`` (a Fortran ``STOP``) ends the process
    without MPI_Finalize, and MPICH's launcher then ends the job with status 0: this
    hook, run by ``exit``, makes it a lost rank like ``os._exit``."""
    global _c_exit_hook
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        if hasattr(libc, "on_exit"):  # glibc: the hook also learns the status
            hook = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p)(_on_c_exit)
            registered = libc.on_exit(hook, None)
        else:
            hook = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda arg: _on_c_exit(None, arg))
            registered = libc.__cxa_atexit(hook, None, None)
        if registered == 0:
            _c_exit_hook = hook  # kept alive for as long as the process
    except (OSError, AttributeError, TypeError):
        pass


def _on_c_exit(status, arg) -> None:
    if _serving.leaving or not _serving_here():
        return
    how = ("ended its process through the C library's exit("
           f"{'' if status is None else status}) (an extension calling exit(), or a "
           "Fortran STOP)")
    if threading.current_thread() is not threading.main_thread():
        _last_words(how, wait=False)  # no safe way to wait here: the job ends as it ends
        return
    _last_words(how, leave=False)  # then exit() goes on, after MPI_Finalize


def _serving_here() -> bool:
    """This is the serving process (not a child it forked) and it is not already leaving."""
    return os.getpid() == _serving.pid and not _serving.lost


def _kills(sig) -> bool:
    try:
        sig = signal.Signals(sig)
    except ValueError:
        return False
    if sig == signal.SIGKILL:
        return True
    if sig == signal.SIGTERM and signal.getsignal(sig) == signal.SIG_IGN:
        return True  # ignored only so that rank 0 handles the launcher's; this one is fatal
    return sig in _FATAL_BY_DEFAULT and signal.getsignal(sig) in (signal.SIG_DFL, None)


def _last_words(act: str, wait: bool = True, leave: bool = True) -> None:
    """Tell rank 0 which task is ending this process, then wait for the end of the run.

    ``act`` says what ended it ("called os._exit(1)"); who did is found on the
    stack: the task, or the unpickling of its inputs or the pickling of its
    result. ``leave``: end the process once rank 0 says stop (else return, MPI
    finalized).
    """
    _serving.lost = True
    ident, index, completed, output, frames, phase = _progress()
    how = f"{_PHASES.get(phase, 'the task')} {act}"
    host = _hostname()
    notice = ("lost", ident, index, completed, output, frames, how, host)
    try:
        _world.comm.send(notice, 0, RESULT)
    except Exception:
        return  # MPI is unusable here: just go
    if not wait:
        return
    if threading.current_thread() is not threading.main_thread():
        threading.Event().wait()  # the main thread ends the process when rank 0 says stop
    _park(leave)


def _park(leave: bool = True) -> None:
    """Turn down further messages until rank 0 says stop, finalize MPI, and leave."""
    from mpi4py import MPI

    comm = _world.comm
    status = MPI.Status()
    while True:
        message = _next_message(comm, 0, status, SPIN_SECONDS_WORKER)
        request = message.recv()
        tag = status.Get_tag()
        if tag == STOP:
            break
        if tag == TASKS:
            comm.send(("skipped", request[0]), 0, RESULT)
    try:
        _goodbye()
    finally:
        if leave:
            # Status 0: rank 0 carries the failure (a non-zero exit here, before rank 0
            # has finalized, would make the launcher kill it mid-sentence).
            _serving.leaving = True
            _exit_finalized(0)


#: Who ended the process, by what was running (see ``_progress``).
_PHASES = {"arguments": "unpickling the task's arguments",
           "function": "unpickling the task's function",
           "result": "pickling the task's result"}

#: Modules whose frames say nothing about the user's code: the serializers'.
_SERIALIZERS = frozenset({"pickle", "_pickle", "copyreg", "cloudpickle", "dill"})


def _progress():
    """(message id, index of the running task, results so far, its output, its frames,
    phase): phase is None while the task itself runs, else 'arguments', 'function' or
    'result' while those are (un)pickled."""
    main = threading.main_thread()
    frame = sys._getframe(2) if threading.current_thread() is main \
        else sys._current_frames().get(main.ident)
    here = os.path.dirname(__file__)
    task_frames, results, chunks, in_task, phase = [], None, None, True, None
    while frame is not None:
        code = frame.f_code
        if code is _worker._run_one.__code__:
            chunks = frame.f_locals.get("chunks")
            in_task = False
        elif code is _worker.run_batch.__code__:
            results = frame.f_locals.get("results")
            break
        elif code is _worker._load.__code__:
            phase = frame.f_locals.get("what")
        elif code is _serialize.dumps_split.__code__ and in_task:
            phase = "result"
        elif (in_task and os.path.dirname(code.co_filename) != here
              and str(frame.f_globals.get("__name__")).partition(".")[0] not in _SERIALIZERS):
            task_frames.append((code.co_filename, frame.f_lineno, code.co_name))
        frame = frame.f_back
    if results is None:
        return _serving.ident, None, [], [], [], phase
    return (_serving.ident, len(results), list(results), list(chunks or ()),
            list(reversed(task_frames)), phase)


def _hostname() -> str:
    try:
        from mpi4py import MPI

        return MPI.Get_processor_name()
    except Exception:
        return os.uname().nodename
