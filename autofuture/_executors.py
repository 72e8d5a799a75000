"""Thin adapters from the scheduler to whatever runs the tasks.

Every adapter offers ``submit(payloads, labels) -> concurrent.futures.Future``
(the future's result is ``_worker.run_batch``'s list), ``workers``,
``wants_labels`` (whether ``submit`` uses the tasks' labels) and
``shutdown(cancel)``. The scheduler knows nothing about which one it has.
"""

from __future__ import annotations

import concurrent.futures
import importlib
import os
import shutil
import signal
import sys
import tempfile
import threading

from . import _config, _worker


class ExecutorError(Exception):
    """An executor could not be created from the user's options."""


class Serial:
    """Runs each task inline, in the workflow thread, at its turn; output is live."""

    name = "serial"
    workers = 1
    inline = True
    wants_labels = False
    in_process = True

    def submit(self, payloads, labels=None):
        future = concurrent.futures.Future()
        future.set_result(_worker.run_batch(payloads, capture="none"))
        return future

    def shutdown(self, cancel: bool = False) -> None:
        pass


class _PoolAdapter:
    inline = False
    wants_labels = False  # submit() is given the tasks' labels only if it uses them
    in_process = False  # True when tasks run in this process and share its memory

    def __init__(self, pool, workers: int, capture: str):
        self.pool = pool
        self.workers = workers
        self.capture = capture

    def submit(self, payloads, labels=None):
        return self.pool.submit(_worker.run_batch, payloads, self.capture)

    def shutdown(self, cancel: bool = False) -> None:
        self.pool.shutdown(wait=not cancel, cancel_futures=cancel)


class Thread(_PoolAdapter):
    """Tasks on threads of this process; their output is captured per thread."""

    name = "thread"
    in_process = True

    def __init__(self, workers: int):
        self._restore_streams = _worker.capture_thread_output()
        pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="autofuture")
        super().__init__(pool, workers, capture="thread")

    def shutdown(self, cancel: bool = False) -> None:
        super().shutdown(cancel)
        self._restore_streams()


class Loky(_PoolAdapter):
    """Worker processes from loky: spawned cleanly, never re-running ``__main__``.

    loky fails every task in flight when one worker dies. Each worker notes
    the task it runs in a file of a private directory, so that the workflow
    can tell the task that was running in the dead worker from the innocent
    ones, which run again on a repaired pool.
    """

    name = "loky"

    def __init__(self, workers: int, idle_timeout: float | None = 60):
        self.idle_timeout = idle_timeout  # seconds before an idle worker exits; None: never
        self.slots = tempfile.mkdtemp(prefix="autofuture-")
        self.lost: set[int] = set()  # every batch of a broken pool asks; all must hear
        super().__init__(self._pool(workers), workers, capture="process")

    def _pool(self, workers: int):
        from loky import get_reusable_executor

        with _sigint_deferred():
            _start_resource_trackers_quietly()
        self.booting = True
        return get_reusable_executor(
            max_workers=workers, timeout=self.idle_timeout, initializer=_worker.init_worker,
            env={"AUTOFUTURE_WORKER": "1", "AUTOFUTURE_SLOTS": self.slots},
        )

    def submit(self, message, labels=None):
        try:
            return self._submit(message)
        except _pool_broken():
            self.pool = self._pool(self.workers)  # a worker died: a fresh pool
            return self._submit(message)

    def _submit(self, message):
        if not self.booting:
            return self.pool.submit(_worker.run_batch, message, self.capture)
        # The first message starts the workers, and loky's threads that start any later
        # ones: all of them are born with SIGINT blocked (see _sigint_deferred).
        with _sigint_deferred():
            future = self.pool.submit(_worker.run_batch, message, self.capture)
        self.booting = False
        return future

    def lost_tasks(self) -> set[int]:
        """Numbers of the tasks that were running in workers that have died."""
        lost = self.lost
        for name in os.listdir(self.slots):
            if not name.isdigit() or _alive(int(name)):
                continue
            path = os.path.join(self.slots, name)
            try:
                with open(path, "rb") as file:
                    number = int(file.read().strip() or 0)
                os.unlink(path)
            except (OSError, ValueError):
                continue
            if number:
                lost.add(number)
        return lost

    def shutdown(self, cancel: bool = False) -> None:
        if cancel:
            self.pool.shutdown(wait=False, kill_workers=True)
        else:
            self.pool.shutdown(wait=True)
        shutil.rmtree(self.slots, ignore_errors=True)


class _sigint_deferred:
    """No SIGINT for a while: what this thread starts is born immune to it, and a
    Ctrl-C that comes meanwhile is raised when the block ends.

    A worker process takes Ctrl-C (a notebook's stop button signals the
    kernel's whole process group) as it boots, before ``_worker.init_worker``
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


def _start_resource_trackers_quietly() -> None:
    """Start loky's resource tracker, and the standard library's that loky's
    spawning of a worker starts too, with their standard error on /dev/null.

    A tracker outlives the run to remove the pool's semaphores, and when a
    worker was lost or the run was cut short it may find one still there and
    warn of "leaked semlock objects" after the program's own last line. It
    removes them all the same; the warning is loky's, with nothing for the
    user to do. ``AUTOFUTURE_DEBUG=1`` leaves their standard error alone.

    Started here, before any worker, the standard library's tracker is not
    started while the workers are spawned, where Python 3.11's
    ``multiprocessing`` unblocks SIGINT on its way out (see ``_sigint_deferred``).
    """
    from multiprocessing import resource_tracker as stdlib_tracker

    from loky.backend import resource_tracker

    trackers = [tracker for tracker in (resource_tracker._resource_tracker,
                                        stdlib_tracker._resource_tracker)
                if getattr(tracker, "_pid", None) is None]
    if not trackers:
        return
    saved = None
    if not _config.debug():
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):
            pass
    if saved is None:
        for tracker in trackers:
            tracker.ensure_running()
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)  # the trackers inherit the descriptor as it is now
        for tracker in trackers:
            tracker.ensure_running()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _pool_broken() -> tuple:
    """What loky's submit raises once a worker died or the pool was shut down."""
    from loky.process_executor import BrokenProcessPool, ShutdownExecutorError

    return (BrokenProcessPool, ShutdownExecutorError, RuntimeError)


def _alive(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            return file.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


class Foreign(_PoolAdapter):
    """Any ``concurrent.futures.Executor`` made by ``module:factory``."""

    def __init__(self, spec: str, workers: int):
        self.name = spec
        module_name, _, attr = spec.partition(":")
        try:
            factory = importlib.import_module(module_name)
            for part in attr.split("."):
                factory = getattr(factory, part)
        except (ImportError, AttributeError) as exc:
            raise ExecutorError(
                f"--executor {spec}: cannot find {attr!r} in module {module_name!r} ({exc}); "
                "give MODULE:FACTORY where FACTORY() returns a concurrent.futures.Executor"
            ) from None
        try:
            pool = factory(workers)
        except TypeError:
            pool = factory()
        if not hasattr(pool, "submit"):
            raise ExecutorError(
                f"--executor {spec}: {attr}() returned a {type(pool).__name__}, "
                "which has no submit(); it must return a concurrent.futures.Executor"
            )
        in_process = isinstance(pool, concurrent.futures.ThreadPoolExecutor)
        self._restore_streams = _worker.capture_thread_output() if in_process else None
        self.in_process = in_process
        count = getattr(pool, "_max_workers", None) or workers
        super().__init__(pool, count, capture="thread" if in_process else "process")

    def shutdown(self, cancel: bool = False) -> None:
        try:
            self.pool.shutdown(wait=not cancel, cancel_futures=cancel)
        except TypeError:
            self.pool.shutdown(wait=not cancel)
        if self._restore_streams is not None:
            self._restore_streams()


def check_name(name: str) -> str | None:
    """Why ``--executor name`` cannot work, checked before the program starts; else None."""
    if name in ("loky", "thread", "serial", "mpi"):
        return None
    if ":" not in name:
        return (f"argument --executor: unknown executor {name!r}: choose loky, thread, "
                "serial, mpi, or MODULE:FACTORY")
    module_name, _, attr = name.partition(":")
    try:
        target = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        return (f"argument --executor: cannot find {attr!r} in module {module_name!r} ({exc}); "
                "give MODULE:FACTORY where FACTORY() returns a concurrent.futures.Executor")
    if not callable(target):
        return f"argument --executor: {name} is not callable"
    return None


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def create(name: str, workers: int | None, live_output: bool = False,
           idle_timeout: float | None = 60):
    """The adapter for ``--executor name``; ``live_output`` lets task prints through;
    ``idle_timeout``: seconds before an idle loky worker exits (None: never)."""
    workers = workers or default_workers()
    if name == "serial":
        return Serial()
    if name == "thread":
        executor = Thread(workers)
    elif name == "loky":
        executor = Loky(workers, idle_timeout)
    elif name == "mpi":
        from . import _mpi

        executor = _mpi.create(workers)
    elif ":" in name:
        executor = Foreign(name, workers)
    else:
        raise ExecutorError(
            f"unknown executor {name!r}: choose loky, mpi, thread, serial, or MODULE:FACTORY"
        )
    if live_output:
        executor.capture = "none"
    return executor
