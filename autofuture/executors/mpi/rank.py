"""Ranks 1..N-1: receive messages from rank 0, run them, send the results back.

See ``world`` for the whole picture.
"""

from __future__ import annotations

import atexit
import faulthandler
import os
import signal
import sys
import threading
import time
import types

from ...worker import context as _context
from ...worker import runner as _worker
from ...worker import store
from . import doorbell, holding
from .lastwords import _install_last_words
from .world import (
    _PER_PROCESS_NAMES,
    _PER_PROCESS_PREFIXES,
    CANCEL,
    FETCH,
    FREE,
    RESULT,
    ROOT_WATCH_SECONDS,
    SPIN_SECONDS_WORKER,
    STOP,
    _exit_finalized,
    _flush,
    _goodbye,
    _hostname,
    _next_message,
    _serving,
    _started,
    _world,
    start,
    world_rank_hint,
    world_size_hint,
)


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
    holding.start()
    status = MPI.Status()
    cancelled = False
    while True:
        # From rank 0 (tasks, frees, the end), or another rank fetching a held result.
        message = _next_message(comm, MPI.ANY_SOURCE, status, SPIN_SECONDS_WORKER)
        tag = status.Get_tag()
        request = message.recv()
        if tag == FETCH:
            holding.answer(comm, status.Get_source(), request)
            continue
        if tag == FREE:
            store.handle("free", request)
            continue
        if tag == STOP:
            _goodbye()
            break
        if tag == CANCEL:
            cancelled = True
            continue
        ident, labels, capture, batch = request
        if cancelled or comm.Iprobe(0, CANCEL):
            cancelled = True
            doorbell.send(comm, ("skipped", ident), 0, RESULT)
            continue
        _serving.ident, _serving.labels = ident, labels
        results = _runner(labels)(batch, capture)
        _serving.ident = _serving.labels = None
        doorbell.send(comm, ("done", ident, results), 0, RESULT)
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
