"""What a loop body run as written calls (``language.plainloop``, docs/decisions.md).

Such a body runs only while no future was ever made (``FUTURES_MADE`` is
empty). It calls a builtin function, or a method of an object of one of
``PLAIN_RECEIVERS`` (all of whose attributes are C code), directly; any other
callee may be a task or a workflow, so the call goes through ``abi.call`` and
``now`` takes its value with everything before it committed: what the body
does next comes after it (a task's output included), as in the plain run.
"""

from __future__ import annotations

import types

from . import current as _slot
from .future import Future
from .inturn import settled
from .scheduler import current
from .values import _ATOMS

BUILTIN = types.BuiltinFunctionType  # also the type of bound methods of C objects
PLAIN_RECEIVERS = frozenset({int, float, complex, bool, str, bytes, list, dict, set})
FUTURES_MADE = _slot.futures_made  # the same list, filled for good by the first future


def now(x):
    """The value of a call's result, once everything before it has run (``abi.value``,
    then ``abi.barrier``)."""
    if isinstance(x, Future):
        x = current().wait_value(x)
    elif type(x) not in _ATOMS:
        settled(x)
    scheduler = _slot.scheduler
    if scheduler is not None and scheduler.logs[-1]:
        scheduler.barrier()
    return x
