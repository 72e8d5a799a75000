"""Parsl: ``--executor parsl`` (a local HighThroughputExecutor) or ``parsl:CONFIG``.

::

    workflow process                                       HTEX workers (processes)
    ────────────────                                       ────────────────────────
    submit(message) ─> python_app(_run)(message) ─> DFK ─> interchange ─> manager ─> _run
    concurrent future <─ AppFuture callback <──────────── result ─────────────────────┘
    shutdown: dfk.cleanup(): the interchange stops, the provider cancels every block

``--executor parsl`` starts a ``HighThroughputExecutor`` with a
``LocalProvider``: one block of ``-n`` worker processes on this host, every
ZeroMQ channel bound to 127.0.0.1 and encrypted (CurveZMQ, ``encrypted=True``),
its run directory a private temporary one, removed at exit.
``parsl:FILE.py`` or ``parsl:MODULE`` loads the user's ``config`` (a
``parsl.config.Config``, e.g. with a ``SlurmProvider``): Parsl's providers,
launchers and block scaling then do their job, and tasks go to any of its
executors.

Each message is one Parsl app call running ``runner.run_hosted``, so
captured output, errors, retries, checkpoints and the trace are the other
executors'. A worker that dies fails its app call with Parsl's
``WorkerLost`` (a manager, with ``ManagerLost`` after the heartbeat
threshold); autofuture decides, as with loky: on the local executor each
worker notes the task it runs in a private directory, so the task that was
running fails with ``WorkerLostError`` (or runs again with retries) and the
other tasks of its message run again for free. Parsl's own ``retries`` in a
user's config run the whole message again first.
"""

from __future__ import annotations

import concurrent.futures
import importlib
import importlib.util
import logging
import os
import runpy
import shutil
import signal
import sys
import tempfile
import threading
import time

from .. import _config
from .._errors import WorkerLostError
from ..worker import runner
from .pool import ExecutorError
from .slots import Slots

EXTRA = "pip install 'autofuture[parsl]'"

#: The label of the executor autofuture starts.
LABEL = "autofuture"

#: Heartbeats of the local executor: a manager that stops answering is declared lost
#: after HEARTBEAT_THRESHOLD seconds (Parsl's defaults are 30 and 120).
HEARTBEAT_PERIOD = 2
HEARTBEAT_THRESHOLD = 10

#: How long the end of a run waits for Parsl's cleanup (blocks cancelled, interchange
#: stopped) before it kills the interchange and goes.
CLEANUP_SECONDS = 20

#: How often ``workers`` asks the interchanges how many workers are connected.
WORKERS_REFRESH_SECONDS = 2.0


#: How autofuture starts an HTEX interchange (see parsl_interchange).
INTERCHANGE_COMMAND = [sys.executable, "-m", "autofuture.executors.parsl_interchange"]


def is_parsl(name: str) -> bool:
    return name == "parsl" or name.startswith("parsl:")


def check(name: str) -> str | None:
    """Why ``--executor name`` cannot work (a usage error), else None."""
    from .dask import _installed

    if not _installed("parsl"):
        return f"argument --executor: {name} needs Parsl, which is not installed: {EXTRA}"
    source = name[len("parsl:"):]
    if name == "parsl" or not source:
        return None if name == "parsl" else (
            "argument --executor: parsl: give parsl:FILE.py or parsl:MODULE, where the file "
            "or module defines config, a parsl.config.Config")
    if source.endswith(".py"):
        if not os.path.isfile(source):
            return f"argument --executor: {name}: no such file {source!r}"
        return None
    try:
        found = importlib.util.find_spec(source)
    except (ImportError, ValueError):
        found = None
    if found is None:
        return f"argument --executor: {name}: no module named {source!r}"
    return None


def _run(message, capture, slots):
    """The Parsl app: one autofuture message, on an HTEX worker (one task at a time).

    An HTEX worker is a child of its block's manager; when a manager is killed its
    workers may live on, busy in a task: they leave with it.
    """
    runner.exit_with_parent()
    return runner.run_hosted(message, capture, slots, threads=1)


def _message_in_band(message):
    """The message with its out-of-band buffers (numpy arrays) as bytearrays: Parsl
    pickles with the default protocol, which cannot send them apart."""
    context, function_payloads, tasks = message
    if not any(task[2][0] is not None and task[2][1] for task in tasks):
        return message
    return context, function_payloads, [(index, number, runner.in_band(payload), *whole_slice)
                                        for index, number, payload, *whole_slice in tasks]


class ParslExecutor:
    """Messages as Parsl app calls, on a local HTEX of autofuture's own or a user's config."""

    inline = False
    wants_labels = False
    in_process = False
    #: A message costs a round trip of milliseconds through the engine: more work in each.
    message_seconds = 0.1
    #: HTEX workers write to their block's log files, not to the workflow's terminal:
    #: with --task-output live, task output is still captured and replayed, not lost.
    live_output = False

    def __init__(self, name: str, workers: int):
        import parsl

        self.name = name
        self.capture = "process"
        self.slots = None
        self.run_dir = None
        self._closed = False
        if name == "parsl":
            self.slots = Slots()
            self.run_dir = tempfile.mkdtemp(prefix="autofuture-parsl-")
            config = _local_config(workers, self.run_dir)
            self._workers, self._workers_at = workers, float("inf")
        else:
            config = _user_config(name)
            self._workers, self._workers_at = max(1, _expected_workers(config)), 0.0
        _no_thread_pools(name, config)
        _our_processes(config)
        if not config.initialize_logging and not _config.debug():
            logging.getLogger("parsl").addHandler(logging.NullHandler())
            logging.getLogger("parsl").propagate = False
        self.dfk = parsl.DataFlowKernel(config)
        self._groups: set[int] = set()  # the local block's process group, once it started
        labels = [executor.label for executor in config.executors
                  if executor.label != "_parsl_internal"]
        self.app = parsl.python_app(_run, data_flow_kernel=self.dfk, executors=labels or "all",
                                    cache=False)

    @property
    def workers(self) -> int:
        """Workers connected (at least 1, or what the config promises while none are)."""
        now = time.monotonic()
        if now - self._workers_at > WORKERS_REFRESH_SECONDS:
            self._workers_at = now
            try:
                connected = sum(manager.get("worker_count", 0)
                                for executor in self.dfk.executors.values()
                                if hasattr(executor, "connected_managers")
                                for manager in executor.connected_managers())
            except Exception:  # noqa: BLE001 - the last count serves until they answer
                connected = 0
            if connected:
                self._workers = connected
        return self._workers

    def submit(self, message, labels=None):
        done = concurrent.futures.Future()
        slots = self.slots.path if self.slots is not None else None
        future = self.app(_message_in_band(message), self.capture, slots)
        future.add_done_callback(lambda f: self._settle(done, f))
        self._find_groups()
        return done

    def _find_groups(self) -> None:
        if self.slots is not None and not self._groups:
            self._groups = _block_groups(self.dfk)

    def _settle(self, done: concurrent.futures.Future, future) -> None:
        self._find_groups()
        if self._closed:
            done.cancel()
            return
        try:
            done.set_result(future.result())
        except BaseException as exc:  # noqa: BLE001 - the message was lost
            if not done.done():
                done.set_exception(_lost_error(exc))

    def lost_tasks(self, exc=None) -> set[int] | None:
        """Tasks that were running in workers that died (the local executor), else None."""
        return self.slots.lost_tasks() if self.slots is not None else None

    def shutdown(self, cancel: bool = False) -> None:
        """The interchange stops and the provider cancels every block (Slurm jobs too)."""
        self._closed = cancel
        self._find_groups()
        try:
            # Parsl waits for its interchange's answers without a time limit: one that
            # died would hold the run's end forever.
            cleanup = threading.Thread(target=_quietly, args=(self.dfk.cleanup,), daemon=True,
                                       name="autofuture-parsl-cleanup")
            cleanup.start()
            cleanup.join(CLEANUP_SECONDS)
            if cleanup.is_alive():
                for executor in self.dfk.executors.values():
                    process = getattr(executor, "interchange_proc", None)
                    if process is not None:
                        _quietly(process.kill)
        finally:
            # The local block's process group: Parsl cancels a live block, but not the
            # workers a killed manager left behind.
            for group in self._groups:
                try:
                    os.killpg(group, signal.SIGKILL)
                except OSError:
                    pass
            if self.slots is not None:
                self.slots.remove()
            if self.run_dir is not None:
                shutil.rmtree(self.run_dir, ignore_errors=True)


def _quietly(call) -> None:
    try:
        call()
    except Exception:  # noqa: BLE001 - the run is ending anyway
        pass


def _lost_error(exc: BaseException) -> BaseException:
    kind = type(exc).__name__
    # Parsl's messages may run on with a block's whole standard output and error.
    text = " ".join(str(exc).split())
    text = text if len(text) <= 200 else text[:197] + "..."
    if kind in ("WorkerLost", "ManagerLost"):
        return WorkerLostError(f"Parsl: {text}")
    if isinstance(exc, concurrent.futures.CancelledError):
        return WorkerLostError("Parsl cancelled it")
    return WorkerLostError(f"Parsl could not run it: {kind}: {text}")


def _block_groups(dfk) -> set[int]:
    """Process groups of the local blocks (LocalProvider starts each in a group of its own)."""
    groups = set()
    for executor in dfk.executors.values():
        for job in getattr(getattr(executor, "provider", None), "resources", {}).values():
            try:
                group = os.getpgid(job["remote_pid"])
            except (KeyError, TypeError, OSError):
                continue
            if group != os.getpgrp():
                groups.add(group)
    return groups


def _launch_command(template: str) -> str:
    """Parsl's worker pool started by this interpreter, not by a script found on PATH."""
    return template.replace(
        "process_worker_pool.py",
        f"{sys.executable} -m parsl.executors.high_throughput.process_worker_pool", 1)


def _local_config(workers: int, run_dir: str):
    """One block of ``workers`` HTEX workers on 127.0.0.1, encrypted, logs in ``run_dir``."""
    from parsl.config import Config
    from parsl.executors import HighThroughputExecutor
    from parsl.executors.high_throughput.executor import DEFAULT_LAUNCH_CMD
    from parsl.providers import LocalProvider

    executor = HighThroughputExecutor(
        label=LABEL,
        address="127.0.0.1", loopback_address="127.0.0.1",
        # -n decides, not the cores: cores_per_worker only divides the host's cores
        max_workers_per_node=workers, cores_per_worker=1e-6,
        encrypted=True,
        heartbeat_period=HEARTBEAT_PERIOD, heartbeat_threshold=HEARTBEAT_THRESHOLD,
        poll_period=1,
        launch_cmd=_launch_command(DEFAULT_LAUNCH_CMD),
        interchange_launch_cmd=INTERCHANGE_COMMAND,
        provider=LocalProvider(init_blocks=1, min_blocks=1, max_blocks=1),
        # A block whose manager was killed is replaced (the strategy keeps min_blocks),
        # rather than every task failing with it.
        block_error_handler=False,
    )
    return Config(executors=[executor], run_dir=run_dir, strategy="simple",
                  strategy_period=1,
                  initialize_logging=_config.debug(), usage_tracking=0)


def _user_config(name: str):
    """``config`` of ``parsl:FILE.py`` or ``parsl:MODULE``."""
    source = name[len("parsl:"):]
    if source.endswith(".py"):
        namespace = runpy.run_path(source, run_name="autofuture_parsl_config")
    else:
        namespace = vars(importlib.import_module(source))
    config = namespace.get("config")
    from parsl.config import Config

    if not isinstance(config, Config):
        found = "nothing" if config is None else f"a {type(config).__name__}"
        raise ExecutorError(
            f"--executor {name}: {source} must define config, a parsl.config.Config "
            f"(it defines {found} under that name)")
    return config


def _our_processes(config) -> None:
    """HTEX interchanges started through ``parsl_interchange``: immune to a terminal's
    Ctrl-C (the workflow stops them) and gone when the workflow dies. A config that
    names its own interchange command keeps it.

    Workers of a ``LocalProvider`` block run on this machine: with Parsl's default
    command and no ``worker_init``, they are started by this interpreter, as the
    interchange is, rather than by whatever ``process_worker_pool.py`` is on PATH
    (none when a virtual environment's python runs without ``activate``; the block
    then never registers).
    """
    from parsl.executors import HighThroughputExecutor
    from parsl.executors.high_throughput.executor import (
        DEFAULT_INTERCHANGE_LAUNCH_CMD,
        DEFAULT_LAUNCH_CMD,
    )
    from parsl.providers import LocalProvider

    for executor in config.executors:
        if not isinstance(executor, HighThroughputExecutor):
            continue
        if list(executor.interchange_launch_cmd) == DEFAULT_INTERCHANGE_LAUNCH_CMD:
            executor.interchange_launch_cmd = INTERCHANGE_COMMAND
        if isinstance(executor.provider, LocalProvider) and not executor.provider.worker_init \
                and executor.launch_cmd == DEFAULT_LAUNCH_CMD:
            executor.launch_cmd = _launch_command(DEFAULT_LAUNCH_CMD)


def _expected_workers(config) -> int:
    """Workers the config's initial blocks bring, before any has connected."""
    total = 0
    for executor in config.executors:
        per_node = getattr(executor, "workers_per_node", None) or 1
        provider = getattr(executor, "provider", None)
        if provider is None:
            total += getattr(executor, "max_threads", 1) or 1
            continue
        blocks = max(getattr(provider, "init_blocks", 1), getattr(provider, "min_blocks", 0), 1)
        nodes = getattr(provider, "nodes_per_block", 1) or 1
        total += int(per_node) * nodes * blocks
    return total


def _no_thread_pools(name: str, config) -> None:
    """Parsl's ThreadPoolExecutor would run tasks in the workflow's own process."""
    from parsl.executors import ThreadPoolExecutor

    for executor in config.executors:
        if isinstance(executor, ThreadPoolExecutor):
            raise ExecutorError(
                f"--executor {name}: the config's executor {executor.label!r} is a Parsl "
                "ThreadPoolExecutor, which runs tasks in the workflow's own process; use "
                "--executor thread for that, or a HighThroughputExecutor")
