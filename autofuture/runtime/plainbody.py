"""What a loop body run as written calls (``language.plainloop``, docs/decisions.md).

Such a body runs as written, its calls unchecked, while the look before its
loop holds (``look``); else, while no future was ever made (``FUTURES_MADE``
is empty), with a check before each call: it
calls a builtin function, or a method of an object of one of
``PLAIN_RECEIVERS`` (all of whose attributes are C code), directly; any other
callee may be a task or a workflow, so the call goes through ``abi.call`` and
``now`` takes its value with everything before it committed: what the body
does next comes after it (a task's output included), as in the plain run.
"""

from __future__ import annotations

import gc
import sys
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
#: ``local_calls``' answer when every callee is C code: ``look`` may then let the body run
#: as written although futures exist (any other callee runs Python code, which may
#: hand the body a future it finds in a global).
ONLY_C = 2
#: What a loop variable may hold for such a body to run as written: values that hold
#: no other value and whose operations are C code.
SCALARS = frozenset({int, float, complex, bool, str, bytes, type(None)})
#: How many values ``look`` reads at most (about 50 µs) before it gives up.
LOOK_LIMIT = 1024
#: What a class whose instances ``look`` reads through may define: an ``__init__``
#: (run only by a call of the class, which is no C callee) and what Python adds.
_RECORD_CLASS_NAMES = frozenset({"__module__", "__qualname__", "__doc__", "__dict__",
                                 "__weakref__", "__init__", "__annotations__",
                                 "__firstlineno__", "__static_attributes__"})


def local_calls(objs: tuple, attrs: tuple) -> bool | int:
    """Before a loop: is every callee of its body a local call? ``objs`` holds each
    callee (``attrs[i] == ""``) or receiver (a method ``attrs[i]`` of it). A callee
    that may be a task, or a method of an object whose kind is known only when it is
    looked up (an instance's): no. ``ONLY_C`` when every callee is C code."""
    answer = ONLY_C
    for obj, attr in zip(objs, attrs, strict=True):
        if attr:
            if type(obj) in PLAIN_RECEIVERS:
                continue
            if type(obj) is not types.ModuleType:
                return False
            obj = obj.__dict__.get(attr)  # a module's own attribute, no code run
            if obj is None:
                return False
        if type(obj) is not BUILTIN:
            if callees.kind_of(obj) is not callees.LOCAL:
                return False
            answer = True
    return answer


def look(answer, names: tuple, receivers: tuple, writers: tuple, counting=None) -> list | tuple:
    """Before a loop: may its body run as written, with no test before its calls? A
    list that is non-empty for as long as it may (until the next future is made,
    ``current.end_looks``), else ``()``.

    It may when every callee is C code (``answer``), nothing is pending, and
    nothing the body reads from its names (``names``) is a future or runs
    Python code to be read (``_plain``); a module named only as a call's
    receiver (``receivers``) and a list only appended to (``writers``) are not
    read. The body then runs no Python code but what the interpreter runs
    beside it (another thread, a signal handler, a finalizer, a replaced
    ``sys.stdout``), makes no future and cannot see one, and no name it calls
    is rebound. Each iteration also checks that the loop's own variables hold
    ``SCALARS`` (see ``language.plainloop``), unless the loop iterates over a
    ``range(...)`` and ``counting``, what the name ``range`` holds, is the builtin.
    """
    if answer != ONLY_C or (counting is not None and counting is not range):
        return ()
    return looked(sys._getframe(1), names, receivers, writers)


def looked(frame, names: tuple, receivers: tuple, writers: tuple) -> list | tuple:
    """``look``'s answer for the loop whose code runs in ``frame``."""
    scheduler = _slot.scheduler
    if scheduler is not None and any(scheduler.logs):
        return ()
    scope, module = frame.f_locals, frame.f_globals
    roots = []
    for name in names:
        value = scope[name] if name in scope else module.get(name, _UNBOUND)
        if value is _UNBOUND:
            continue  # bound by the body before it is read, or a NameError either way
        if (type(value) is types.ModuleType and name in receivers) \
                or (type(value) is list and name in writers):
            continue
        roots.append(value)
    if not _plain(roots):
        return ()
    flag = _slot.looks
    if not flag:
        flag.append(True)
    return flag


_UNBOUND = object()


def _plain(roots: list) -> bool:
    """No future among these values and what they hold, and nothing whose reading runs
    Python code: scalars, exact lists, tuples, sets and dicts, builtin functions and
    classes, and instances of classes that define no special method but ``__init__``,
    no descriptor and no attribute (``_record``), their attributes read as the
    collector reads them. At most ``LOOK_LIMIT`` values are read."""
    budget = LOOK_LIMIT
    stack = roots
    seen: set = set()
    while stack:
        budget -= 1
        if budget < 0:
            return False
        obj = stack.pop()
        t = type(obj)
        if t in SCALARS:
            continue
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if t is list or t is tuple or t is set or t is frozenset:
            stack.extend(obj)
        elif t is dict:
            stack.extend(obj)
            stack.extend(obj.values())
        elif t is BUILTIN:  # a builtin function, or a method of a C object
            receiver = obj.__self__
            if receiver is not None and type(receiver) is not types.ModuleType:
                stack.append(receiver)
        elif t is type:
            if obj.__module__ != "builtins":
                return False
        elif not _record(t):
            return False
        else:  # its attributes, read without making its __dict__ (which slows every read)
            stack.extend(value for value in gc.get_referents(obj) if value is not t)
    return True


def _record(cls) -> bool:
    """Instances of ``cls`` are read from their ``__dict__``, running no Python code."""
    return (type(cls) is type and cls.__bases__ == (object,)
            and "__slots__" not in cls.__dict__
            and all(name in _RECORD_CLASS_NAMES for name in cls.__dict__))


def now(x):
    """The value of a call's result, once everything before it has run (``abi.value``,
    then ``abi.barrier``). A body running as written after its look (``look``)
    calls only C code: a call that comes here (a callee that was rebound since, or
    a module's function) may have run Python code, so its next iterations, and
    those of every loop whose look holds, are the rewritten body."""
    if isinstance(x, Future):
        x = current().wait_value(x)
    elif type(x) not in _ATOMS:
        settled(x)
    scheduler = _slot.scheduler
    if scheduler is not None and scheduler.logs[-1]:
        scheduler.barrier()
    if _slot.looks:
        _slot.end_looks()
    return x
