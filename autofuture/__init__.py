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


def install(**options):
    """Futurize marked modules imported from now on; returns a handle with ``uninstall()``."""
    from ._hook import install as _install

    return _install(**options)
