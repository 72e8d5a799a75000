"""MPI, the world both sides share: `mpiexec -n N python -m autofuture script.py`.

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

Waiting for a message: when every rank runs on one node, a rank with nothing
to do sleeps on its doorbell, a pipe the sender writes one byte to after each
message (``doorbell``): it takes no CPU while idle and is scheduled at once
when rung. Otherwise (ranks on several nodes, or ``AUTOFUTURE_MPI_DOORBELL=0``),
``AUTOFUTURE_MPI_WAIT=poll`` (the default) probes without pause for a moment
after each message (a round trip stays in the tens of microseconds) and then
sleeps between probes, at most 200 µs at a time, so an idle rank leaves its
core to others (3 ranks on a 2-core laptop, or rank 0's workflow thread);
``block`` waits in MPI's blocking probe, which spins on its core for as long
as it waits (the lowest latency when every rank has a core of its own).

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
import os
import signal
import sys
import threading
import time

from ... import _config
from . import doorbell

# Message tags on autofuture's communicator.
TASKS, RESULT, CANCEL, STOP, WAKE, BYE = 1, 2, 3, 4, 5, 6
# Held results (see worker.store): a request for one, the value, and rank 0's frees.
FETCH, DATA, FREE = 7, 8, 9

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
    doorbell.setup(_world.comm, _world.rank, _hostname(),
                   wanted=doorbell.enabled() and not _world.block)
    return _world.rank

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
    requests = [comm.isend(None, rank, STOP) for rank in ranks]
    for rank in ranks:
        doorbell.ring(rank)
    for request in requests:
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

def _status_of(exc) -> int:
    """The exit status a run ending with ``exc`` has: 130 for Ctrl-C, 143 for SIGTERM."""
    if isinstance(exc, KeyboardInterrupt):
        return 130
    from ..._errors import Terminated  # not at import: the CLI imports this module early

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
    if doorbell.used():
        return _wait_on_doorbell(probe)
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

def _wait_on_doorbell(probe):
    """Sleep on this rank's doorbell (see ``doorbell``), probing each time it rings.

    A ring is followed by probes without pause for a moment: MPI's first probe
    after a sleep often misses a message that is already there.
    """
    seconds = doorbell.FIRST_WAIT_SECONDS
    while True:
        rung = doorbell.wait(seconds)
        deadline = time.perf_counter() + (doorbell.RUNG_PROBE_SECONDS if rung else 0.0)
        while True:
            message = probe()
            if message is not None:
                return message
            if time.perf_counter() >= deadline:
                break
        seconds = min(2 * seconds, doorbell.LONGEST_WAIT_SECONDS)

def _wait_quietly(request) -> None:
    if request is not None:
        try:
            request.wait()
        except Exception:
            pass

_real = {}

def _watch_launcher() -> None:
    """Rank 0 ends the run when the launcher's process that started it dies.

    Worker ranks do the same (``worker.runner.init_worker``): with the launcher
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
        from ...worker import runner as _worker

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

def _hostname() -> str:
    try:
        from mpi4py import MPI

        return MPI.Get_processor_name()
    except Exception:
        return os.uname().nodename


class _Serving:
    pid = None
    ident = None        # the message being run, and its labels
    labels = None
    lost = False        # a task ended this process; it only waits for the end of the run
    leaving = False     # the process is ending on purpose

_serving = _Serving()

def _goodbye() -> None:
    """Answer rank 0's STOP and finalize MPI at once (see ``_release``)."""
    from mpi4py import MPI

    _serving.leaving = True  # rank 0 may exit now, and nothing of this process reports
    _world.comm.send(None, 0, BYE)
    _flush()
    MPI.Finalize()
