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

from . import callees
from . import current as _slot
from .future import Future
from .inturn import settled
from .scheduler import current
from .values import _ATOMS

BUILTIN = types.BuiltinFunctionType  # also the type of bound methods of C objects
PLAIN_RECEIVERS = frozenset({int, float, complex, bool, str, bytes, list, dict, set})
FUTURES_MADE = _slot.futures_made  # the same list, filled for good by the first future
NAME_ERROR = NameError  # what the look before a loop catches, whatever the module binds


def local_calls(objs: tuple, attrs: tuple) -> bool:
    """Before a loop: is every callee of its body a local call? ``objs`` holds each
    callee (``attrs[i] == ""``) or receiver (a method ``attrs[i]`` of it). A callee
    that may be a task, or a method of an object whose kind is known only when it is
    looked up (an instance's): no."""
    for obj, attr in zip(objs, attrs, strict=True):
        if attr:
            if type(obj) in PLAIN_RECEIVERS:
                continue
            if type(obj) is not types.ModuleType:
                return False
            obj = obj.__dict__.get(attr)  # a module's own attribute, no code run
            if obj is None:
                return False
        if type(obj) is not BUILTIN and callees.kind_of(obj) is not callees.LOCAL:
            return False
    return True


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
