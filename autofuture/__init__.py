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


def __getattr__(name):
    if name == "MarkedModuleImportedEarly":  # the hook's warning, for warnings filters
        from .language.hook import MarkedModuleImportedEarly

        return MarkedModuleImportedEarly
    raise AttributeError(f"module 'autofuture' has no attribute {name!r}")
