"""autofuture: ordinary-looking Python scripts, run in parallel.

Mark a module with a ``# autofuture`` comment line and run it with
``python -m autofuture script.py``: calls to its functions become futures
that run on worker processes, while the program prints exactly what its
plain run prints.
"""

from __future__ import annotations

from ._api import local, result, task, workflow
from ._errors import ArityError, RebindError, RemoteError, SerializationError, WorkerLostError
from ._future import Future

__version__ = "0.1.0"

__all__ = [
    "ArityError",
    "Future",
    "MarkedModuleImportedEarly",
    "RebindError",
    "RemoteError",
    "SerializationError",
    "WorkerLostError",
    "install",
    "local",
    "result",
    "task",
    "workflow",
]


_RUN_OPTIONS = ("executor", "workers", "lookahead", "keep_going", "task_output", "retries")


def install(*, scan_site_packages: bool = False, **run_options):
    """Futurize marked modules imported from now on; returns a handle with ``uninstall()``
    that also works as a context manager.

    ``executor``, ``workers``, ``lookahead``, ``keep_going``, ``task_output`` and
    ``retries`` set what ``python -m autofuture`` options set (defaults: the
    ``AUTOFUTURE_EXECUTOR`` and ``AUTOFUTURE_WORKERS`` variables, else loky on all
    cores). The workflow thread blocks while it waits for a value: in Jupyter
    or under asyncio that blocks the kernel's or the loop's thread, like any
    long computation in a cell; run the workflow in a thread to keep a loop
    responsive.
    """
    from . import _scheduler
    from ._hook import install as _install

    unknown = set(run_options) - set(_RUN_OPTIONS)
    if unknown:
        raise TypeError(f"install() got unknown options {sorted(unknown)}; "
                        f"it takes scan_site_packages and {', '.join(_RUN_OPTIONS)}")
    if run_options:
        _scheduler.configure(_scheduler.Options(**run_options))
    return _install(scan_site_packages=scan_site_packages)


def load_ipython_extension(ipython) -> None:
    """``%load_ext autofuture``: the ``%%autofuture`` cell magic and ``%autofuture on|off``
    (see docs/notebooks.md)."""
    from ._notebook import load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    """``%unload_ext autofuture``: the magics go, and so do the workers."""
    from ._notebook import unload

    unload(ipython)


def __getattr__(name):
    if name == "MarkedModuleImportedEarly":  # the hook's warning, for warnings filters
        from ._hook import MarkedModuleImportedEarly

        return MarkedModuleImportedEarly
    raise AttributeError(f"module 'autofuture' has no attribute {name!r}")
