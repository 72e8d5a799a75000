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
import sys
import tempfile

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

    def __init__(self, workers: int):
        self.slots = Slots()
        super().__init__(self._pool(workers), workers, capture="process")

    def _pool(self, workers: int):
        from loky import get_reusable_executor

        _start_resource_tracker_quietly()
        return get_reusable_executor(
            max_workers=workers, timeout=60, initializer=_worker.init_worker,
            env={"AUTOFUTURE_WORKER": "1", "AUTOFUTURE_SLOTS": self.slots.path},
        )

    def submit(self, message, labels=None):
        try:
            return self.pool.submit(_worker.run_batch, message, self.capture)
        except _pool_broken():
            self.pool = self._pool(self.workers)  # a worker died: a fresh pool
            return self.pool.submit(_worker.run_batch, message, self.capture)

    def lost_tasks(self) -> set[int]:
        """Numbers of the tasks that were running in workers that have died."""
        return self.slots.lost_tasks()

    def shutdown(self, cancel: bool = False) -> None:
        if cancel:
            self.pool.shutdown(wait=False, kill_workers=True)
        else:
            self.pool.shutdown(wait=True)
        self.slots.remove()


class Slots:
    """A private directory where each worker process notes the task it runs.

    One small file per worker process, named by its pid (``_worker._mark_running``).
    When an executor reports a lost batch, the files of dead processes say which
    tasks were running there: those failed, the others of the batch are innocent.
    Only for workers on the workflow's own host (loky's, a local Dask cluster's,
    a local Parsl pool's).
    """

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="autofuture-")
        self.lost: set[int] = set()  # every batch of a broken pool asks; all must hear

    def lost_tasks(self) -> set[int]:
        """Numbers of the tasks that were running in workers that have died."""
        lost = self.lost
        try:
            names = os.listdir(self.path)
        except OSError:
            return lost
        for name in names:
            if not name.isdigit() or _alive(int(name)):
                continue
            path = os.path.join(self.path, name)
            try:
                with open(path, "rb") as file:
                    number = int(file.read().strip() or 0)
                os.unlink(path)
            except (OSError, ValueError):
                continue
            if number:
                lost.add(number)
        return lost

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _start_resource_tracker_quietly() -> None:
    """Start loky's resource tracker with its standard error on /dev/null.

    The tracker outlives the run to remove the pool's semaphores, and when a
    worker was lost or the run was cut short it may find one still there and
    warn of "leaked semlock objects" after the program's own last line. It
    removes them all the same; the warning is loky's, with nothing for the
    user to do. ``AUTOFUTURE_DEBUG=1`` leaves its standard error alone.
    """
    from loky.backend import resource_tracker

    tracker = resource_tracker._resource_tracker
    if _config.debug() or getattr(tracker, "_pid", None) is not None:
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)  # the tracker inherits the descriptor as it is now
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


CHOICES = ("loky, thread, serial, mpi, dask, dask://HOST:PORT, parsl, parsl:CONFIG, "
           "or MODULE:FACTORY")


def check_name(name: str) -> str | None:
    """Why ``--executor name`` cannot work, checked before the program starts; else None."""
    if name in ("loky", "thread", "serial", "mpi"):
        return None
    from . import _dask, _parsl

    if _dask.is_dask(name):
        return _dask.check(name)
    if _parsl.is_parsl(name):
        return _parsl.check(name)
    if ":" not in name:
        return f"argument --executor: unknown executor {name!r}: choose {CHOICES}"
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


def create(name: str, workers: int | None, live_output: bool = False):
    """The adapter for ``--executor name``; ``live_output`` lets task prints through."""
    from . import _dask, _parsl  # light: each imports its engine only when it starts

    workers = workers or default_workers()
    if name == "serial":
        return Serial()
    if name == "thread":
        executor = Thread(workers)
    elif name == "loky":
        executor = Loky(workers)
    elif name == "mpi":
        from . import _mpi

        executor = _mpi.create(workers)
    elif _dask.is_dask(name):
        executor = _dask.DaskExecutor(name, workers)
    elif _parsl.is_parsl(name):
        executor = _parsl.ParslExecutor(name, workers)
    elif ":" in name:
        executor = Foreign(name, workers)
    else:
        raise ExecutorError(f"unknown executor {name!r}: choose {CHOICES}")
    if live_output and getattr(executor, "live_output", True):
        executor.capture = "none"
    return executor
