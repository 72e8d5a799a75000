"""autofuture: ordinary-looking Python scripts, run in parallel.

Mark a module with a ``# autofuture`` comment line and run it with
``python -m autofuture script.py``: calls to its functions become futures
that run on worker processes, while the program prints exactly what its
plain run prints.
"""

from __future__ import annotations

from ._api import local, result, task, workflow
from ._errors import (
    ArityError,
    ModuleStateWarning,
    RebindError,
    RemoteError,
    SerializationError,
    WorkerLostError,
)
from ._version import __version__ as __version__
from .entrypoints.install import install
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


def __getattr__(name):
    if name == "MarkedModuleImportedEarly":  # the hook's warning, for warnings filters
        from .language.hook import MarkedModuleImportedEarly

        return MarkedModuleImportedEarly
    raise AttributeError(f"module 'autofuture' has no attribute {name!r}")
