"""Starting loky's worker processes quietly, and immune to Ctrl-C while they boot.

Shared by the loky adapters: a worker that takes Ctrl-C before it ignores it
dies printing loky's imports where the user's output goes (a notebook's stop
button signals the whole process group), and the resource trackers' warnings
about semaphores they clean up anyway have nothing for the user to do.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from .. import _config


class sigint_deferred:
    """No SIGINT for a while: what this thread starts is born immune to it, and a
    Ctrl-C that comes meanwhile is raised when the block ends.

    A worker process takes Ctrl-C (a notebook's stop button signals the
    kernel's whole process group) as it boots, before ``worker.runner.init_worker``
    ignores it, and dies printing a traceback of loky's imports where the
    user's output goes. Processes and threads started with SIGINT blocked are
    immune until they ignore it. In the main thread, Python's own handler is
    set aside too, so that the KeyboardInterrupt is raised here, after the
    block (a frame of ours, left out of tracebacks), not deep inside loky.
    """

    def __enter__(self) -> None:
        self.handler = self.mask = None
        self.caught: list[tuple] = []
        if not hasattr(signal, "pthread_sigmask"):
            return
        if threading.current_thread() is threading.main_thread():
            handler = signal.getsignal(signal.SIGINT)
            if callable(handler):
                self.handler = handler
                signal.signal(signal.SIGINT, lambda *received: self.caught.append(received))
        self.mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})

    def __exit__(self, *exc_info) -> None:
        if self.mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, self.mask)
        if self.handler is not None:
            signal.signal(signal.SIGINT, self.handler)
            if self.caught:
                self.handler(*self.caught[0])


class InitWorker:
    """``worker.runner.init_worker``, pickled by name: the workflow spawns its first
    worker before it imports ``worker.runner`` (~13 ms of imports, issue 16)."""

    def __call__(self) -> None:
        from ..worker import runner

        runner.init_worker()


def worker_env(slots: str) -> dict:
    """What a loky worker's environment adds: it is a worker, where its slot files
    go, and the workflow's pid, which it watches (not its parent when it starts: a
    workflow killed while it booted has already left it to init)."""
    return {"AUTOFUTURE_WORKER": "1", "AUTOFUTURE_SLOTS": slots,
            "AUTOFUTURE_WORKFLOW_PID": str(os.getpid())}


def import_loky() -> None:
    """Import loky with psutil left to import when loky first kills a worker.

    loky imports psutil with itself (~15 ms of CPU, in the workflow and in each
    worker, issue 16), to kill a worker's own children when it kills a worker
    and, in a worker, to weigh it between two calls (an autofuture worker makes
    one call, ``lokychannel.serve``, for its whole life). psutil is hidden
    while loky is imported, so loky takes it for absent; its kill without psutil
    then imports it and kills as with it, or, if it cannot be imported (not
    installed, or the interpreter is ending), kills as loky does without it.
    A task that imports psutil gets it as usual.
    """
    if "loky" in sys.modules:
        return
    hidden = "psutil" not in sys.modules
    if hidden:
        sys.modules["psutil"] = None  # an ImportError for loky's ``import psutil``
    try:
        import loky  # noqa: F401
    finally:
        if hidden:
            del sys.modules["psutil"]
    from loky.backend import utils

    if utils.psutil is not None:
        return
    without = utils._kill_process_tree_without_psutil

    def kill_importing_psutil(process) -> None:
        if before_kills():  # from now on loky's kill uses it directly
            return utils._kill_process_tree_with_psutil(process)
        return without(process)

    utils._kill_process_tree_without_psutil = kill_importing_psutil


def before_kills() -> bool:
    """psutil for loky's kills, imported now (if it is installed) rather than by
    the kill: loky kills from its own threads, which may still run while the
    interpreter ends, when an import fails and loky's kill without psutil may
    warn on the user's standard error. Called before a pool is shut down with
    its workers killed (a run that failed or was cut short), and by the kill
    itself (``import_loky``). Whether loky now has psutil."""
    from loky.backend import utils

    if utils.psutil is None:
        try:
            import psutil
        except ImportError:
            return False
        utils.psutil = psutil
    return True


def start_resource_trackers_quietly() -> None:
    """Start loky's resource tracker, and stand in for the standard library's that
    loky's spawning of a worker needs too (``executors.lazytracker``: started, quiet
    as well, only once something is registered with it), with their standard error
    on /dev/null.

    A tracker outlives the run to remove the pool's semaphores, and when a
    worker was lost or the run was cut short it may find one still there and
    warn of "leaked semlock objects" after the program's own last line. It
    removes them all the same; the warning is loky's, with nothing for the
    user to do. ``AUTOFUTURE_DEBUG=1`` leaves their standard error alone.

    Started here, before any worker, the standard library's tracker is not
    started while the workers are spawned, where Python 3.11's
    ``multiprocessing`` unblocks SIGINT on its way out (see ``sigint_deferred``).
    """
    from multiprocessing import resource_tracker as stdlib_tracker

    import_loky()
    from loky.backend import resource_tracker

    from . import lazytracker

    # The standard library's starts only if something is registered with it (few runs).
    lazytracker.install(quiet=not _config.debug())
    trackers = [tracker for tracker in (resource_tracker._resource_tracker,
                                        stdlib_tracker._resource_tracker)
                if getattr(tracker, "_fd", None) is None]
    if not trackers:
        return
    # Standard output too: a tracker ends a little after the workflow, and whoever
    # reads the run's output to its end (a pipe, `| tee`, a test) waited for it.
    fds = (1,) if _config.debug() else (1, 2)
    saved = {}
    try:
        for fd in fds:
            (sys.stdout if fd == 1 else sys.stderr).flush()
            saved[fd] = os.dup(fd)
    except (OSError, ValueError, AttributeError):
        pass
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in saved:
            os.dup2(devnull, fd)  # the trackers inherit the descriptors as they are now
        for tracker in trackers:
            if tracker is resource_tracker._resource_tracker:
                _light_loky_tracker(resource_tracker, tracker)
            else:
                tracker.ensure_running()
    finally:
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


def _light_loky_tracker(module, tracker) -> None:
    """loky's tracker started through ``executors.tracker.main``: loky builds its
    command from the module of ``main`` (see ``executors.tracker``)."""
    from . import tracker as light

    saved = module.main
    module.main = light.main
    try:
        tracker.ensure_running()
    finally:
        module.main = saved
