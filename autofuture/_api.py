"""The decorators and helpers users write: ``task``, ``local``, ``workflow``, ``result``.

Each decorator only puts a marker on the function, so a marked file still
runs unchanged under plain ``python``, where the markers mean nothing.
"""

from __future__ import annotations

import types

from .runtime.callees import MARKER, TaskFunction, TaskOptions
from .runtime.future import result

__all__ = ["local", "result", "task", "workflow"]


def _mark(fn, marker):
    target = fn.__func__ if isinstance(fn, (staticmethod, classmethod)) else fn
    if isinstance(target, types.FunctionType):
        setattr(target, MARKER, marker)
        return fn
    if isinstance(marker, TaskOptions):
        return TaskFunction(fn, marker)
    raise TypeError(
        f"autofuture can only mark plain functions, not a {type(fn).__name__}"
    )


def task(fn=None, /, *, retries: int = 0, retry_on: tuple = (), timeout: float | None = None):
    """Make calls of ``fn`` from futurized code tasks: ``@autofuture.task`` on a method,
    or ``autofuture.task(library_function)``. ``task(retries=2)`` gives options.

    ``timeout``: seconds an attempt may run; past it the task fails with
    ``TimeoutError`` (its worker process is killed and replaced), or runs again
    if it has ``retries`` left. Overrides ``--task-timeout`` for this task.
    """
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(f"autofuture.task(timeout=...) takes a number of seconds, "
                            f"not a {type(timeout).__name__}")
        if not timeout > 0 or timeout == float("inf"):
            raise ValueError(f"autofuture.task(timeout=...) must be a number of seconds "
                             f"above 0, got {timeout!r}")
    options = TaskOptions(retries=retries, retry_on=retry_on, timeout=timeout)
    if fn is None:
        return lambda f: _mark(f, options)
    return _mark(fn, options)


def local(fn):
    """Run calls of ``fn`` in the workflow process, in program order, not as tasks."""
    return _mark(fn, "local")


def workflow(fn):
    """Futurize the body of ``fn`` like top-level code (``def main()`` under ``__main__``)."""
    return _mark(fn, "workflow")

