"""Dask: ``--executor dask`` (a local cluster of autofuture's own) or an existing scheduler.

::

    workflow process                                   Dask workers (processes)
    ────────────────                                   ────────────────────────
    submit(message) ─> client.submit(_run, message) ─> scheduler ─> _run: runner.run_hosted
    concurrent future <─ callback thread <─ result ───────────────────────┘
    shutdown(cancel): cancel the keys on the cluster; close what autofuture started

``--executor dask`` starts a ``LocalCluster`` of ``-n`` worker processes
with one thread each, bound to 127.0.0.1, every channel TLS with a
certificate made for this run (``Security.temporary()``), no dashboard, and
stops it at exit. When ``DASK_SCHEDULER_ADDRESS`` is set, or with
``dask://HOST:PORT`` (tcp), ``tcp://HOST:PORT`` or ``tls://HOST:PORT``, it
connects to that scheduler instead (with Dask's own configuration for
credentials) and leaves the cluster running.

Each message is one Dask task running ``runner.run_hosted``, so captured
output, errors, retries, checkpoints and the trace are the other executors'.
A worker that dies: on the cluster autofuture starts, Dask gives up on the
task at once (``allowed_failures=0``) and autofuture decides, as with loky:
each worker notes the task it runs in a private directory, so the task that
was running fails with ``WorkerLostError`` (or runs again with retries), and
the other tasks of its messages run again for free. On an existing cluster
Dask's own ``distributed.scheduler.allowed-failures`` reruns a lost worker's
tasks first; after that ``KilledWorker`` fails the message's tasks.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import logging
import os
import threading
import time
import uuid

from .. import _config
from .._errors import WorkerLostError
from ..worker import runner
from .slots import Slots

#: Extra to install, named by the usage error when distributed is missing.
EXTRA = "pip install 'autofuture[dask]'"

#: How often ``workers`` asks an existing scheduler how many threads it has.
WORKERS_REFRESH_SECONDS = 2.0

#: Waiting for an existing scheduler to answer.
CONNECT_TIMEOUT_SECONDS = 30

_QUIET_SUBMIT = {"distributed.admin.large-graph-warning-threshold": "1 PiB"}


def address(name: str) -> str | None:
    """The scheduler address ``--executor name`` connects to; None for a cluster of our own."""
    if name.startswith("dask://"):
        return "tcp://" + name[len("dask://"):]
    if name.startswith(("tcp://", "tls://")):
        return name
    if name == "dask":
        return os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    return None


def is_dask(name: str) -> bool:
    return name == "dask" or name.startswith(("dask://", "tcp://", "tls://"))


def check(name: str) -> str | None:
    """What is not installed for ``--executor name``, as a usage error; else None."""
    if not _installed("distributed"):
        return (f"argument --executor: {name} needs Dask's distributed, which is not "
                f"installed: {EXTRA}")
    if address(name) is None and not _installed("cryptography"):
        return (f"argument --executor: {name} starts a Dask cluster with TLS, which needs "
                f"the cryptography package: {EXTRA}")
    return None


def _installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _run(message, capture, slots):
    """The Dask task: one autofuture message, on a Dask worker."""
    from distributed import get_worker

    try:
        threads = get_worker().state.nthreads
    except Exception:  # noqa: BLE001 - not in a worker (a client running it locally)
        threads = 1
    return runner.run_hosted(message, capture, slots, threads)


class DaskExecutor:
    """Messages as Dask tasks, on a cluster of autofuture's own or an existing one."""

    inline = False
    wants_labels = False
    in_process = False
    #: A message costs a round trip of milliseconds through the engine: more work in each.
    message_seconds = 0.1

    def __init__(self, name: str, workers: int):
        import dask
        from distributed import Client

        self._dask = dask
        self.name = name
        self.capture = "process"
        self.cluster = None
        self.slots = None
        self._pending: dict = {}  # key -> Dask future, while it runs
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._run_id = uuid.uuid4().hex[:12]
        self._closed = False
        target = address(name)
        if target is None:
            self.slots = Slots()
            self.cluster = _local_cluster(workers)
            self.client = Client(self.cluster, set_as_default=False)
            self._workers = workers
            self._workers_at = float("inf")  # a fixed size: never asked again
        else:
            self.client = Client(target, set_as_default=False, timeout=CONNECT_TIMEOUT_SECONDS)
            self._workers = 1
            self._workers_at = 0.0

    @property
    def workers(self) -> int:
        """Threads on the cluster (at least 1: an empty cluster may be growing)."""
        now = time.monotonic()
        if now - self._workers_at > WORKERS_REFRESH_SECONDS:
            self._workers_at = now
            try:
                self._workers = max(1, sum(self.client.nthreads().values()))
            except Exception:  # noqa: BLE001 - the last count serves until it answers
                pass
        return self._workers

    def submit(self, message, labels=None):
        done = concurrent.futures.Future()
        key = f"autofuture-{self._run_id}-{next(self._ids)}"
        slots = self.slots.path if self.slots is not None else None
        # A message carries its tasks' inputs, arrays included: Dask's warning about
        # large graphs would land on the program's stderr.
        with self._dask.config.set(_QUIET_SUBMIT):
            future = self.client.submit(_run, message, self.capture, slots, key=key,
                                        pure=False)
        with self._lock:
            self._pending[key] = future
        future.add_done_callback(lambda f: self._settle(done, f))
        return done

    def _settle(self, done: concurrent.futures.Future, future) -> None:
        """On Dask's callback thread: complete the workflow's future from the Dask one."""
        with self._lock:
            self._pending.pop(future.key, None)
        if self._closed:
            done.cancel()
            return
        try:
            if future.status == "finished":
                done.set_result(future.result())
            elif future.status == "cancelled":
                done.set_exception(WorkerLostError(
                    f"Dask cancelled task {future.key} (the scheduler restarted or another "
                    "client cancelled it)"))
            else:
                done.set_exception(_lost_error(future.exception()))
        except BaseException as exc:  # noqa: BLE001 - the result could not be fetched
            if not done.done():
                done.set_exception(_lost_error(exc))

    def lost_tasks(self, exc=None) -> set[int] | None:
        """Tasks that were running in workers that died (a cluster of our own), else None."""
        return self.slots.lost_tasks() if self.slots is not None else None

    def shutdown(self, cancel: bool = False) -> None:
        self._closed = cancel
        try:
            if cancel:
                with self._lock:
                    futures = list(self._pending.values())
                    self._pending.clear()
                if futures and self.cluster is None:
                    # Work queued on a cluster we leave running must not go on for nothing;
                    # a task already running there finishes (Dask cannot stop a thread).
                    self.client.cancel(futures, force=True)
            self.client.close(timeout=10)
        except Exception:  # noqa: BLE001 - the cluster is going away anyway
            pass
        finally:
            if self.cluster is not None:
                _close_cluster(self.cluster)
                self.cluster = None
            if self.slots is not None:
                self.slots.remove()


def _lost_error(exc: BaseException | None) -> BaseException:
    """A Dask failure of a whole message, as the scheduler's lost-batch path wants it."""
    if exc is None:
        return WorkerLostError("Dask lost the task")
    if type(exc).__name__ == "KilledWorker":
        worker = getattr(exc, "last_worker", None)
        where = getattr(worker, "address", None) or "?"
        pid = getattr(worker, "pid", None)
        return WorkerLostError(f"the Dask worker {where}" + (f", pid {pid}," if pid else "")
                               + " died while running it")
    if isinstance(exc, WorkerLostError):
        return exc
    return WorkerLostError(f"Dask could not run it: {type(exc).__name__}: {exc}")


def _local_cluster(workers: int):
    """``-n`` single-threaded worker processes on 127.0.0.1, TLS everywhere, no dashboard."""
    import dask
    from distributed import LocalCluster
    from distributed.security import Security

    quiet = logging.INFO if _config.debug() else logging.CRITICAL
    with dask.config.set({
        # No HTTP routes: the scheduler and each worker still open an HTTP port on
        # 127.0.0.1 (Dask always does), which answers nothing.
        "distributed.scheduler.http.routes": [],
        "distributed.worker.http.routes": [],
    }):
        return LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True,
            host="127.0.0.1", protocol="tls://", security=Security.temporary(),
            dashboard_address=None, worker_dashboard_address=None, memory_limit=0,
            silence_logs=quiet,
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0",
                              "allowed_failures": 0},
        )


def _close_cluster(cluster) -> None:
    """Stop the cluster's workers and scheduler, at once.

    A graceful close waits for busy workers (after Ctrl-C or an error, a task
    still running) and takes a second or more even when they are idle. The
    cluster is ours and every result we wanted is in: its worker processes
    are killed first (their nannies told not to start new ones), then the
    rest is closed.
    """
    # The scheduler's comms to the killed workers close with INFO lines, and the
    # cluster restores Dask's log level (INFO) early in its close: quiet until it is done.
    quiet = not _config.debug()
    disabled = logging.root.manager.disable
    if quiet:
        logging.disable(logging.CRITICAL)
    try:
        for nanny in list(getattr(cluster, "workers", {}).values()):
            nanny.auto_restart = False
        _kill(_worker_processes(cluster))
        try:
            cluster.close(timeout=10)
        except Exception:  # noqa: BLE001 - whatever is left is killed below
            pass
        _kill(_worker_processes(cluster))
    finally:
        if quiet:
            logging.disable(disabled)


def _kill(processes) -> None:
    for process in processes:
        try:
            process.kill()
        except Exception:  # noqa: BLE001 - already gone
            pass


def _worker_processes(cluster) -> list:
    """The multiprocessing processes behind the cluster's nannies, still alive."""
    found = []
    for nanny in list(getattr(cluster, "workers", {}).values()):
        process = getattr(getattr(nanny, "process", None), "process", None)
        inner = getattr(process, "_process", None)
        if inner is not None and inner.is_alive():
            found.append(inner)
    return found
