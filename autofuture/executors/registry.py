"""From ``--executor NAME`` to an adapter: checking the name, creating the adapter."""

from __future__ import annotations

import importlib

from . import prespawn
from .loky import Loky  # noqa: F401 - registry.Loky: the shared-queue pool
from .lokyworkers import LokyWorkers
from .pool import ExecutorError, default_workers

CHOICES = ("loky, thread, serial, mpi, dask, dask://HOST:PORT, parsl, parsl:CONFIG, "
           "or MODULE:FACTORY")


def check_name(name: str) -> str | None:
    """Why ``--executor name`` cannot work, checked before the program starts; else None."""
    if name in ("loky", "thread", "serial", "mpi"):
        return None
    # These import their engine only when it starts.
    from . import dask, parsl

    if dask.is_dask(name):
        return dask.check(name)
    if parsl.is_parsl(name):
        return parsl.check(name)
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


#: Executors started before the run needed them (``prestart``), by (name, workers, live).
_prestarted: dict = {}


def prestart(name: str, workers: int | None, live_output: bool = False) -> None:
    """Start the loky workers now, before the script is read and rewritten, so that
    they boot meanwhile; the run's first task takes them (``create``). A worker
    process takes a few hundred milliseconds to boot, longer than reading most
    scripts: started at the first task, every run paid it in full. Any other
    executor starts at the first task, as before; a failure here is left for
    ``create`` to report there."""
    if name != "loky":
        return
    key = (name, workers or default_workers(), live_output)
    if key in _prestarted:
        return
    try:
        _prestarted[key] = create(name, workers, live_output)
    except Exception:  # noqa: BLE001 - create() says what went wrong, at the first task
        pass


def preload(names: list[str]) -> None:
    """Workers started early import these installed packages while they wait."""
    for executor in _prestarted.values():
        getattr(executor, "preload", lambda names: None)(names)


def discard_prestarted() -> None:
    """The run is over: workers it started early and never used end now."""
    prespawn.discard()
    while _prestarted:
        _, executor = _prestarted.popitem()
        try:
            executor.shutdown(cancel=True)
        except Exception:  # noqa: BLE001 - ending anyway
            pass


def create(name: str, workers: int | None, live_output: bool = False):
    """The adapter for ``--executor name``; ``live_output`` lets task prints through."""
    workers = workers or default_workers()
    early = _prestarted.pop((name, workers, live_output), None)
    if early is not None:
        return early
    if name == "serial":
        from .serial import Serial  # these import worker.runner: only when chosen

        return Serial()
    if name == "thread":
        from .thread import Thread

        executor = Thread(workers)
    elif name == "loky":
        executor = LokyWorkers(workers)
    elif name == "mpi":
        from .mpi import driver

        executor = driver.create(workers)
    elif _dask().is_dask(name):
        executor = _dask().DaskExecutor(name, workers)
    elif _parsl().is_parsl(name):
        executor = _parsl().ParslExecutor(name, workers)
    elif ":" in name:
        from .foreign import Foreign

        executor = Foreign(name, workers)
    else:
        raise ExecutorError(f"unknown executor {name!r}: choose {CHOICES}")
    if live_output and getattr(executor, "live_output", True):
        executor.capture = "none"
    return executor


def _dask():
    from . import dask

    return dask


def _parsl():
    from . import parsl

    return parsl
