"""What rewritten code calls, one function per construct (imported as ``__af__``).

Each function has a fast path (nothing pending, no future: what Python would do, at
once); otherwise it adds an entry to the log (``runtime.scheduler``) and returns a future.
``value``, ``key``, ``iterate``, ``barrier`` are the strict points of SPEC §4.

While an effect is pending, a read of a mutable object (by whatever name) waits for
it (``runtime.runahead``): a read of a plain object becomes a lazy read in the log, a
strict point settles the pending effects first (``runtime.inturn``).
"""

from __future__ import annotations

import builtins
import operator
import sys
import types
import warnings

from ..worker import serialize
from . import callees
from . import current as _slot
from . import effects as _effects
from . import maps as _maps
from . import runahead as _runahead
from . import tracebacks as _tb
from .callees import TASK, WORKFLOW
from .entries import EFFECT, READ, Entry
from .entries import TASK as TASK_ENTRY
from .future import _UNSET, Future
from .future import result as _result
from .held import value_of
from .inturn import STRUCTURED as _STRUCTURED
from .inturn import clock as _clock
from .inturn import conflicts as _conflicts
from .inturn import effect_pending as _effect_pending
from .inturn import in_turn as _in_turn
from .inturn import settled as _settled
from .maps import each, mapping
from .ordering import call_method, call_value
from .plainbody import BUILTIN, FUTURES_MADE, NAME_ERROR, PLAIN_RECEIVERS, local_calls, now  # noqa: F401
from .plainbody import ONLY_C as ONLY_C  # (re-exported: what a versioned loop uses)
from .plainbody import SCALARS as SCALARS
from .plainbody import look as look
from .runahead import VALUES, fixed, shared_value
from .scheduler import current
from .shapes import check_arity as _check_arity
from .shapes import format_now as _format_now
from .shapes import format_parts as _format
from .shapes import tuples as _tuples
from .shapes import unpacker as _unpacker
from .values import _ATOMS, atoms_only, find_futures, resolve

_getattr = builtins.getattr

OPS = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "@": operator.matmul,
    "/": operator.truediv, "//": operator.floordiv, "%": operator.mod, "**": operator.pow,
    "<<": operator.lshift, ">>": operator.rshift, "|": operator.or_, "^": operator.xor,
    "&": operator.and_, "u+": operator.pos, "u-": operator.neg, "~": operator.invert,
    "not": operator.not_, "==": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge, "is": operator.is_,
    "is not": operator.is_not, "in": lambda a, b: a in b, "not in": lambda a, b: a not in b,
}
AUGOPS = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "@=": operator.imatmul,
    "/=": operator.itruediv, "//=": operator.ifloordiv, "%=": operator.imod,
    "**=": operator.ipow, "<<=": operator.ilshift, ">>=": operator.irshift,
    "|=": operator.ior, "^=": operator.ixor, "&=": operator.iand,
}


_CONTAINERS = (list, tuple, dict, set, frozenset)

#: Builtins that look at their caller's frame: called from a frame at the user's line.
_FRAME_SENSITIVE = frozenset({warnings.warn})
_BUILTIN = types.BuiltinFunctionType  # also the type of bound methods of C objects
#: Callables that run at once on plain values when nothing is pending: never tasks.
_DIRECT = frozenset({_BUILTIN, type})
_WARN = warnings.warn
_UNARY = object()  # op()'s second operand when there is none

#: The guard of an operation rewritten as Python wrote it (see ``language.rewrite``'s ``guarded``):
#: ``__af__.typeof(x) in __af__.ATOMS`` for each name in it.
ATOMS = _ATOMS
typeof = builtins.type


# -- module boundaries ----------------------------------------------------------

def enter_module(namespace: dict, first_call_warnings: tuple = ()) -> None:
    """A marked module starts: its functions are tasks and travel by value.

    ``first_call_warnings``: what ``autofuture check`` says about its task
    functions' changes of module state, given when each is first called.
    """
    filename = sys._getframe(1).f_code.co_filename
    callees.marked_files.add(filename)
    if first_call_warnings:
        callees.add_first_call_warnings(filename, first_call_warnings)
    module = sys.modules.get(namespace.get("__name__", ""))
    if module is not None and _getattr(module, "__dict__", None) is namespace:
        serialize.register_by_value(module)


def end_module() -> None:
    barrier()


# -- strict points ----------------------------------------------------------------

def value(x):
    """The value of ``x``, waiting for it (and raising its error in program order)."""
    if isinstance(x, Future):
        return current().wait_value(x)
    if type(x) not in _ATOMS:
        _settled(x)
    return x


def truth(x) -> bool:
    """An ``assert`` test on Python 3.11 (see ``language.nodes.assert_anchor``)."""
    return bool(value(x))


def values(xs) -> list:
    """``*xs`` passed to a builtin called directly (``eval(*args)``): every item a value."""
    return [value(item) for item in iterate(xs)]


def key(x):
    """A dict key or set member: hashed, so it needs values, also inside tuples."""
    if isinstance(x, Future):
        return current().wait_value(x)
    if type(x) is tuple:
        found: list = []
        find_futures(x, found)
        if found:
            return _resolve_now(x)
    return x


def subject(x):
    """A ``match`` subject: patterns look inside it, so futures inside need values too."""
    x = value(x)
    if isinstance(x, (list, tuple, dict, set, frozenset)):
        return _resolve_now(x)
    return x


def _resolve_now(obj):
    found: list = []
    find_futures(obj, found)
    scheduler = current()
    for future in found:
        scheduler.wait_value(future)
    return resolve(obj)


def barrier() -> None:
    """Everything before this point has run; raises the first failure among it."""
    scheduler = _slot.scheduler
    if scheduler is not None and scheduler.logs[-1]:
        scheduler.barrier()


def settle() -> None:
    """On the way out of a ``try``/``with`` body with an error: earlier failures win.

    An earlier failure raised here keeps its own ``__context__`` (see
    ``exceptions.raise_as_is``); one that Python chains to the later error,
    which the plain run never reached, does not show it.
    """
    later = sys.exc_info()[1]
    try:
        barrier()
    except BaseException as exc:
        if exc.__context__ is later:
            exc.__suppress_context__ = True
        raise


def caught() -> None:
    """First statement of an ``except`` clause: the handler sees the plain run's traceback.

    A task error carries a traceback rebuilt from its call site; from the
    handler's frame down, that is what Python would have recorded.
    """
    exc = sys.exc_info()[1]
    if exc is None:
        return
    rebuilt = _getattr(exc, "__autofuture_tb__", None)
    if rebuilt is None:
        exc.__traceback__ = _tb.strip(exc.__traceback__)
    else:
        frame = sys._getframe(1)
        tb = rebuilt
        while tb is not None and tb.tb_frame is not frame:
            tb = tb.tb_next
        exc.__traceback__ = rebuilt if tb is None else tb
        del exc.__autofuture_tb__
    _tb.in_handler(exc)


def workflow_return(result):
    """What a workflow function returns: futures to futurized callers (which go on
    without waiting); to ordinary code, values, once everything it started has run."""
    caller = sys._getframe(2).f_code
    if caller is _CALL_CODE:
        _tb.returning(sys._getframe(1))
        return result
    barrier()
    if isinstance(result, Future):
        return current().wait_value(result)
    if isinstance(result, _CONTAINERS):
        return _resolve_now(result)
    return result


def iterate(obj, shape=None):
    """What a ``for`` loop or comprehension iterates over.

    An iterable that can change is read a step at a time: each step comes
    after the effects made before it (by earlier iterations too) have run.
    """
    if isinstance(obj, Future):
        if obj._af_arity is not None and obj._af_value is _UNSET:
            checked = _read(_check_arity(obj), (obj,))
            obj = [getitem(checked, index) for index in range(obj._af_arity)]
        else:
            obj = current().wait_value(obj)
    t = type(obj)
    if t not in VALUES and t is not tuple and t is not frozenset and not fixed(obj):
        obj = _in_turn(obj)  # the loop's body may make the first task and effect
    if shape is None:
        return obj
    return (unpack(item, shape) for item in obj)


# -- calls ----------------------------------------------------------------------

def call(fn, /, *args, **kwargs):
    """``fn(*args, **kwargs)``: a task, a workflow call, or a local call."""
    if type(fn) in _DIRECT and not kwargs and fn is not _WARN:
        scheduler = _slot.scheduler
        if scheduler is None or not scheduler.logs[-1]:
            for arg in args:
                if type(arg) not in _ATOMS and (type(arg) is not tuple or not atoms_only(arg)):
                    break
            else:  # the fast path: a builtin or class, plain values, nothing pending
                return fn(*args)
    if isinstance(fn, Future):
        return _effect(call_value, (fn, *args), kwargs, "call")
    kind = callees.kind_of(fn)
    if kind is TASK:
        return _submit(fn, args, kwargs)
    if kind is WORKFLOW:
        box = [args, kwargs]
        del args, kwargs  # a frame outliving the call keeps its locals: see call_workflow
        return _tb.call_workflow(fn, box)
    if fn is _result and len(args) == 1 and not kwargs and isinstance(args[0], Future):
        # It waits here, as documented, and returns the value: as a local call it would
        # be a pending effect whose own future the caller gets back.
        return current().wait_value(args[0])
    return _local(fn, args, kwargs)


def method(obj, name: str, /, *args, **kwargs):
    """``obj.name(*args, **kwargs)``, lazily when ``obj`` is a future."""
    if type(obj) is Future:
        if obj._af_value is _UNSET or obj._af_error is not None:
            return _effect(call_method, (obj, name, *args), kwargs, name)
        shared_value(obj, _clock())  # the method, bound to the value, may go anywhere
        obj = value_of(obj._af_value)
    try:
        fn = _getattr(obj, name)
    except Exception as exc:  # noqa: BLE001 - reported at `obj.name`, as Python does
        _tb.here(_tb.failed_at(exc, "attribute", name))
        raise
    scheduler = _slot.scheduler
    if type(fn) is _BUILTIN and not kwargs and fn is not _WARN:
        if scheduler is None or not scheduler.logs[-1]:
            for arg in args:
                if type(arg) not in _ATOMS and (type(arg) is not tuple or not atoms_only(arg)):
                    break
            else:  # the fast path: list.append(1) and the like with nothing pending
                return fn(*args)
    if scheduler is not None and scheduler.effect is not None and type(obj) not in _ATOMS \
            and callees.kind_of(fn) is callees.LOCAL and scheduler.conflicts(obj, False) \
            and not _effects.rebinds(fn):
        # A pending effect may rebind obj.name: the method is looked up at its turn.
        return _effect(call_method, (obj, name, *args), kwargs, name)
    return call(fn, *args, **kwargs)


_CALL_CODE = _tb.call_workflow.__code__  # a workflow's futurized caller calls it there


def _local(fn, args, kwargs):
    scheduler = _slot.scheduler
    idle = scheduler is None or not scheduler.logs[-1]
    found: list = []
    if kwargs or any(type(arg) not in _ATOMS for arg in args):
        find_futures((args, kwargs), found)
    if not found:
        if idle:
            if type(fn) is types.FunctionType or fn in _FRAME_SENSITIVE:
                return _tb.call_from_user_frame(fn, args, kwargs)
            return fn(*args, **kwargs)
        pure = callees.is_pure(fn, args)
        if pure and (scheduler.effect is None or not _conflicts(scheduler, fn, args, kwargs)):
            return fn(*args, **kwargs)
    elif fn is len and len(args) == 1 and isinstance(args[0], Future) \
            and args[0]._af_arity is not None:
        _read(_check_arity(args[0]), (args[0],))  # a result of another length fails in turn
        return args[0]._af_arity
    elif fn is len and len(args) == 1 and not kwargs and type(args[0]) in (list, tuple) \
            and (scheduler is None or not scheduler.conflicts(args[0], False)):
        # The length of a list of futures is known now: it waits for none of them (and
        # fetches none that stayed on a worker).
        return len(args[0])
    else:
        pure = callees.is_pure(fn, args)
    if pure:
        return _read(fn, args, kwargs)
    future = _effect(fn, args, kwargs, callees.task_name(fn))
    if _effects.rebinds(fn):
        # It assigns a global or a closure variable, which later lines read by name:
        # the workflow waits for it here.
        return current().wait_value(future)
    return future


def _effect(fn, args, kwargs, name):
    """A local call or mutation: it runs at its turn, in the workflow thread."""
    scheduler = current()
    site = _tb.call_site()
    entry = Entry(EFFECT, fn, args, kwargs, site, name, early=False)
    receiver = _getattr(fn, "__self__", None)
    return scheduler.add(entry, (receiver, args, kwargs))


def _submit(fn, args, kwargs):
    """A task call: a future at once; the task starts when its inputs have values
    (and, while an effect is pending, once that effect has run if it may change them)."""
    scheduler = current()
    site = _tb.call_site()
    inputs = [*args, *kwargs.values(), *callees.implicit_inputs(fn)]
    entry = Entry(TASK_ENTRY, fn, args, kwargs, site, callees.task_name(fn), early=True)
    if scheduler.effect is not None:
        if scheduler.context_pending:  # tasks see the context as of their call: no
            entry.after, entry.check = scheduler.effect, False  # speculating past it
        else:
            callee = fn.__wrapped__ if type(fn) is callees.TaskFunction else fn
            if type(callee) is types.MethodType:  # travels with it: a method gets a copy
                scheduler.order(entry, (*inputs, callee.__self__))
            elif type(callee) is not types.FunctionType:
                scheduler.order(entry, (*inputs, callee))
            else:
                scheduler.order(entry, inputs)
    entry.handling = sys.exc_info()[1]
    if callees.first_call_warnings:
        callees.warn_first_call(fn)
    options = callees.task_options(fn)
    entry.retries = options.retries if options is not None and options.retries \
        else scheduler.options.retries
    if options is not None:
        entry.retry_on = options.retry_on
    entry.timeout = options.timeout if options is not None and options.timeout \
        else scheduler.options.task_timeout
    future = scheduler.add(entry, inputs)  # one flat list: futures are looked for in it
    future._af_arity = callees.return_arity(fn)
    if future._af_arity is not None:
        entry.suffix = f" -> {callees.annotation_text(fn)}"
    return future


# -- lazy reads -----------------------------------------------------------------

def _read(fn, args, kwargs=None, shallow=False):
    """A read of futures: runs as soon as they have values, commits in order.

    ``shallow``: only the arguments themselves are awaited and resolved, not
    futures inside them (``xs[0]`` of a list of futures is the future).
    """
    scheduler = current()
    site = _tb.call_site()
    entry = Entry(READ, fn, args, kwargs or {}, site, callees.task_name(fn), early=True)
    entry.shallow = shallow
    if scheduler.effect is not None:
        scheduler.order(entry, (*args, *kwargs.values()) if kwargs else args,
                        deep=bool(kwargs) or not _runahead.structural_read(fn, args))
    return scheduler.add(entry, (args, kwargs))


def _operate(fn, args, deep=True):
    """Apply a pure operation now if it can be, else lazily.

    ``deep``: futures inside container arguments need values too (``[a] == [1]``
    compares values); reads (``xs[0]``, ``obj.attr``) take containers as they are.
    """
    futures = False
    for arg in args:
        if isinstance(arg, Future):
            if arg._af_value is _UNSET or arg._af_error is not None:
                return _read(fn, args, shallow=not deep)
            futures = True
        elif deep and isinstance(arg, _CONTAINERS):
            found: list = []
            find_futures(arg, found)
            if found:
                return _read(fn, args)
    scheduler = _effect_pending()
    if scheduler is not None:
        for arg in args:
            if type(arg) is Future and not fixed(arg._af_value):
                return _read(fn, args, shallow=not deep)  # private? a read decides
        if _conflicts(scheduler, fn, args):
            return _read(fn, args, shallow=not deep)  # after the effects that may change them
    if not futures:
        return fn(*args)
    for arg in args:
        if type(arg) is Future:
            shared_value(arg, _clock())  # the result may be a part of it, given to the program
    return fn(*[value_of(a._af_value) if isinstance(a, Future) else a for a in args])


def getattr(obj, name: str):
    if type(obj) is not Future:
        scheduler = _slot.scheduler
        if scheduler is None or scheduler.effect is None or type(obj) in _ATOMS \
                or isinstance(obj, type) \
                or not scheduler.conflicts(obj, not _runahead.own_attribute(obj, name)):
            # (A module's or a class's attribute is a definition: see runtime.runahead.)
            return _getattr(obj, name)
    return _operate(_getattr, (obj, name), deep=False)


def getitem(obj, index):
    if type(index) in _ATOMS and type(obj) is not Future:
        scheduler = _slot.scheduler
        if scheduler is None or scheduler.effect is None \
                or not scheduler.conflicts(obj, type(obj) not in _STRUCTURED):
            return obj[index]
    if type(index) is tuple:
        found: list = []
        find_futures(index, found)
        if found:  # a[i, j:k] with futures in the index: the index needs values
            index = _read(tuple, (index,))
    return _operate(operator.getitem, (obj, index), deep=False)


def op(symbol: str, a, b=_UNARY):
    """``a <symbol> b`` (or ``<symbol> a``): at once on plain values, which cannot change."""
    if type(a) in _ATOMS:
        if b is _UNARY:
            return OPS[symbol](a)
        if type(b) in _ATOMS:
            return OPS[symbol](a, b)
    return _operate(OPS[symbol], (a,) if b is _UNARY else (a, b))


def compare(ops: tuple, *operands):
    return _operate(_compare_chain(ops), operands)


def _compare_chain(ops):
    functions = [OPS[symbol] for symbol in ops]

    def compare_chain(*operands):
        for fn, left, right in zip(functions, operands, operands[1:], strict=False):
            result = fn(left, right)
            if not result:
                return result
        return result

    return compare_chain


def slice(lower, upper, step):  # noqa: A001 - mirrors the builtin it builds
    return _operate(builtins.slice, (lower, upper, step))


def fstring(*parts):
    for part in parts:
        if type(part) is tuple and type(part[0]) not in _ATOMS:
            break
    else:  # only strings and plain values
        return _format_now(parts)
    found: list = []
    find_futures(parts, found)
    if found:
        return _read(_format, parts)
    scheduler = _effect_pending()
    if scheduler is None or not any(scheduler.conflicts(part[0], True)
                                    for part in parts if type(part) is tuple):
        return _format_now(parts)
    return _read(_format, parts)


# -- unpacking ------------------------------------------------------------------

def unpack(obj, shape):
    """``a, (b, *c) = obj`` without waiting: futures for each target when ``obj`` is one."""
    try:
        return _unpack(obj, shape, 0)
    except Exception as exc:  # noqa: BLE001 - reported at the (inner) target, as Python does
        _tb.here(exc)
        raise


def _unpack(obj, shape, level):
    if isinstance(obj, Future) and (
            obj._af_value is _UNSET or obj._af_error is not None
            or _effect_pending() is not None and not fixed(obj._af_value)):
        read = _read(_unpacker(shape, level), (obj,))
        items = [getitem(read, index) for index in range(len(shape))]
    else:
        if isinstance(obj, Future):
            shared_value(obj, _clock())
            obj = value_of(obj._af_value)
        elif type(obj) not in _ATOMS:
            _settled(obj)
        items = _unpacker(shape, level)(obj)
    out = []
    level += 1  # the next tuple of the target, depth first
    for item, sub in zip(items, shape, strict=True):
        if type(sub) is tuple:
            out.append(_unpack(item, sub, level))
            level += _tuples(sub)
        else:
            out.append(item)
    return tuple(out)


# -- mutations --------------------------------------------------------------------

def _mutate(fn, args, name):
    scheduler = _slot.scheduler
    if scheduler is None or not scheduler.logs[-1]:
        found: list = []
        find_futures(args, found)
        if not found:
            fn(*args)
            return
    future = _effect(fn, args, {}, name)
    if _effects.is_definition_target(args[0]):
        # A class, module or function changed: what its names refer to is read at
        # once by later lines (see runtime.runahead), so the workflow waits for it here.
        current().wait_value(future)


def setattr(obj, name, value):  # noqa: A001
    _mutate(builtins.setattr, (obj, name, value), "setattr")


def delattr(obj, name):  # noqa: A001
    _mutate(builtins.delattr, (obj, name), "delattr")


def setitem(obj, index, value):
    if type(index) in _ATOMS and type(value) in _ATOMS and type(obj) is not Future:
        scheduler = _slot.scheduler
        if scheduler is None or not scheduler.logs[-1]:
            obj[index] = value
            return
    _mutate(operator.setitem, (obj, index, value), "setitem")


def delitem(obj, index):
    _mutate(operator.delitem, (obj, index), "delitem")


def _augitem(obj, index, symbol, value):
    obj[index] = AUGOPS[symbol](obj[index], value)


def _augattr(obj, name, symbol, value):
    builtins.setattr(obj, name, AUGOPS[symbol](_getattr(obj, name), value))


def augitem(obj, index, symbol, value):
    _mutate(_augitem, (obj, index, symbol, value), symbol)


def augattr(obj, name, symbol, value):
    _mutate(_augattr, (obj, name, symbol, value), symbol)


_maps.bind(call, iterate)  # a map's element that is not in a slice is a call as any other

__all__ = [
    "enter_module", "end_module", "value", "truth", "values", "key", "subject", "barrier", "settle",
    "caught", "iterate",
    "call", "each", "mapping",
    "method", "getattr", "getitem", "op", "compare", "slice", "fstring", "unpack",
    "setattr", "delattr", "setitem", "delitem", "augitem", "augattr", "now",
]
