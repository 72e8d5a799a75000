"""autofuture: ordinary-looking Python scripts, run in parallel.

Mark a module with a ``# autofuture`` comment line and run it with
``python -m autofuture script.py``: calls to its functions become futures
that run on worker processes, while the program prints exactly what its
plain run prints.
"""

from __future__ import annotations

from ._version import __version__ as __version__

TYPE_CHECKING = False  # not typing's: importing typing took 5 ms
if TYPE_CHECKING:
    from ._api import local, result, task, workflow
    from ._errors import (
        ArityError,
        ModuleStateWarning,
        RebindError,
        RemoteError,
        SerializationError,
        WorkerLostError,
    )
    from .entrypoints.install import install
    from .language.hook import MarkedModuleImportedEarly
    from .runtime.future import Future

__all__ = [
    "ArityError",
    "Future",
    "MarkedModuleImportedEarly",
    "ModuleStateWarning",
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


def load_ipython_extension(ipython) -> None:
    """``%load_ext autofuture``: the ``%%autofuture`` cell magic and ``%autofuture on|off``
    (see docs/notebooks.md)."""
    from .entrypoints.notebook import load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    """``%unload_ext autofuture``: the magics go, and so do the workers."""
    from .entrypoints.notebook import unload

    unload(ipython)


#: Where each public name lives. Imported when first asked for, not with the package:
#: every process of a run imports ``autofuture`` (a worker for ``autofuture.worker``,
#: loky's resource tracker for ``executors.tracker``), and the API's runtime took each
#: of them 10-15 ms of a start-up that the run waits for (issue 16).
_LAZY = {
    "local": "._api", "result": "._api", "task": "._api", "workflow": "._api",
    "ArityError": "._errors", "ModuleStateWarning": "._errors", "RebindError": "._errors",
    "RemoteError": "._errors", "SerializationError": "._errors",
    "WorkerLostError": "._errors", "install": ".entrypoints.install",
    "Future": ".runtime.future",
    "MarkedModuleImportedEarly": ".language.hook",  # the hook's warning, for filters
}


def __getattr__(name):
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'autofuture' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(where, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
