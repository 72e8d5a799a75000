"""A task ending its own process on a worker rank: say which task it was, then wait.

See ``world`` for the whole picture.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from ...worker import frames as _frames
from ...worker import runner as _worker
from ...worker import serialize
from . import doorbell
from .world import (
    RESULT,
    SPIN_SECONDS_WORKER,
    STOP,
    TASKS,
    _exit_finalized,
    _goodbye,
    _hostname,
    _next_message,
    _real,
    _serving,
    _world,
)

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
        doorbell.send(_world.comm, notice, 0, RESULT)
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
            doorbell.send(comm, ("skipped", request[0]), 0, RESULT)
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
    package = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))) + os.sep
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
        elif code is serialize.dumps_split.__code__ and in_task:
            phase = "result"
        elif (in_task and not os.path.abspath(code.co_filename).startswith(package)
              and str(frame.f_globals.get("__name__")).partition(".")[0] not in _SERIALIZERS):
            task_frames.append(_frames.entry(code, frame.f_lineno))
        frame = frame.f_back
    if results is None:
        return _serving.ident, None, [], [], [], phase
    return (_serving.ident, len(results), list(results), list(chunks or ()),
            list(reversed(task_frames)), phase)
