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


def task(fn=None, /, *, retries: int = 0, retry_on: tuple = ()):
    """Make calls of ``fn`` from futurized code tasks: ``@autofuture.task`` on a method,
    or ``autofuture.task(library_function)``. ``task(retries=2)`` gives options."""
    options = TaskOptions(retries=retries, retry_on=retry_on)
    if fn is None:
        return lambda f: _mark(f, options)
    return _mark(fn, options)


def local(fn):
    """Run calls of ``fn`` in the workflow process, in program order, not as tasks."""
    return _mark(fn, "local")


def workflow(fn):
    """Futurize the body of ``fn`` like top-level code (``def main()`` under ``__main__``)."""
    return _mark(fn, "workflow")

