"""What may run ahead of pending effects, and what must wait for them (SPEC §5).

The rule. While an effect (a local call or a mutation) is pending, a read, a
strict point or a task's capture of its inputs that involves a mutable object
waits until the effects before it in program order have run, whatever name
the object is reached through. Nothing here guesses what a call touches; what
goes ahead anyway is what no pending effect can change, and that is computed:

- values that cannot change (``fixed``): numbers, strings, bytes, ``None``,
  ranges, and tuples and frozensets of such values; definitions (modules,
  classes, functions) that travel by reference, or whose values carried by
  value (globals and closure cells a function reads, its defaults, a class's
  attributes) are fixed in turn;
- a *private* task result (``private``): one that no effect has been given and
  that the workflow has not been handed (by a strict point, a fast path, a
  read's result given back): only futures lead to it, so no effect can reach
  it. A read of a private value goes ahead only when it runs no code of the
  program (``exempt_read``);
- an object that no pending effect can change, by identity and reachability:
  an effect whose code is builtin has a known set of objects it writes
  (``print`` its stream, ``xs.append(v)`` the list ``xs``, ``obj.attr = v``
  the instance ``obj``); a call of a marked module's code may write what it
  can reach (its arguments, its object, the globals it reads, the marked code
  among those, and all they hold); any other effect (a library's code, code
  that reaches objects by name) may write anything (``runtime.effects`` classifies
  them). A read goes ahead when no effect of that last kind is pending and
  none of the others writes an object it reaches (``reach``: the object
  itself for a read of its own structure, such as ``xs[0]``, ``obj.attr`` or
  a loop's next item, and everything it holds for any other read and for a
  capture).

A task that must wait is sent speculatively all the same (``runtime.scheduler``): its
capture is taken again once the effects have run and must be the very bytes
that were sent, or the task runs again.

What a name refers to is another matter: the futurized subset binds every
name once, and the rule treats what modules, classes and functions are bound
to as fixed. A local call that rebinds a global or a closure variable (its
code, or the code of a marked module's functions it reads by name, has
``global``/``nonlocal`` assignments) and a mutation of a class, module or
function in futurized code are waited for where they are made (``runtime.effects``).

The code that reads run (``__eq__``, ``__len__``, properties, ``__str__`` in a
``print``) is taken to read only: it may read anything, but changes nothing.
"""

from __future__ import annotations

import collections
import enum
import gc
import operator
import types

from . import callees, payloads
from .future import _UNSET, Future

#: Types whose values cannot change and hold nothing that can.
VALUES = frozenset({int, float, complex, bool, str, bytes, type(None), range,
                    type(Ellipsis), type(NotImplemented)})

#: Builtin containers whose operations run no code of the program when every item is
#: a plain value (``VALUES``): ``==``, ``sorted``, ``str`` and ``+`` on them too.
_BUILTIN_DATA = (list, tuple, dict, set, frozenset)

#: Items looked at in one container before it counts as mutable: the check is
#: paid where something waits, and must not cost more than waiting would.
LIMIT = 256

#: How many futures a walk through the futures a read was made from may visit.
SOURCES_LIMIT = 64

_DEPTH = 6  # nesting of definitions and tuples followed

_FunctionType = types.FunctionType
_MethodType = types.MethodType
_ModuleType = types.ModuleType
_BuiltinType = types.BuiltinFunctionType
_FUNCTION_WRAPPERS = (staticmethod, classmethod)
#: Descriptors that read an instance's own structure: slots, ``__dict__``, and the
#: fields of a namedtuple.
_STRUCTURE_DESCRIPTORS = (types.MemberDescriptorType, types.GetSetDescriptorType,
                          type(collections.namedtuple("_Probe", "x").x))


# -- what cannot change ---------------------------------------------------------------

def fixed(obj, depth: int = 0) -> bool:
    """Can no effect change ``obj``, nor anything a read or a capture of it reaches?"""
    t = type(obj)
    if t in VALUES:
        return True
    if t is tuple or t is frozenset or _namedtuple(obj):
        if depth > _DEPTH or len(obj) > LIMIT:
            return False
        for item in obj:
            if type(item) not in VALUES and not fixed(item, depth + 1):
                return False
        return True
    if t is Future:
        value = obj._af_value
        return value is not _UNSET and fixed(value, depth + 1)
    if t is slice:
        return fixed((obj.start, obj.stop, obj.step), depth)
    if isinstance(obj, enum.Enum):  # a member: made with its class, its value set once
        return fixed(obj._value_, depth + 1)
    return definition(obj, depth)


def _namedtuple(obj) -> bool:
    """A namedtuple: a tuple whose class adds fields that read its items, nothing else."""
    return isinstance(obj, tuple) and hasattr(type(obj), "_fields") \
        and not hasattr(obj, "__dict__")


#: Definitions found fixed, by id (the object kept, so that the id stays its own).
#: What a definition is bound to is fixed by the rule, and fixed values stay
#: fixed, so a verdict holds; the dictionary is emptied when it grows large.
_known: dict[int, object] = {}
_checking: set[int] = set()


def definition(obj, depth: int = 0) -> bool:
    """A module, class or function that carries nothing mutable to a worker or a read."""
    if _known.get(id(obj)) is obj:
        return True
    t = type(obj)
    if t is not _FunctionType and t is not _BuiltinType and t is not _MethodType \
            and t is not _ModuleType and not isinstance(obj, type):
        return False
    if depth > _DEPTH:
        return False
    if id(obj) in _checking:
        return True  # a cycle (a method naming its class): fixed if the rest is
    _checking.add(id(obj))
    try:
        if t is _BuiltinType:  # len, math.sqrt; or list.append bound to a list
            owner = obj.__self__
            ok = owner is None or fixed(owner, depth + 1)
        elif t is _MethodType:
            ok = fixed(obj.__self__, depth + 1) and fixed(obj.__func__, depth + 1)
        elif payloads._by_reference(obj):
            ok = True  # a worker imports it by name; the workflow's copy never travels
        elif t is _FunctionType:
            ok = all(fixed(value, depth + 1) for value in _function_values(obj))
        elif t is _ModuleType:  # a marked module: its namespace travels by value
            return all(fixed(value, depth + 1) for name, value in vars(obj).items()
                       if not _dunder(name))
        else:
            ok = _class_fixed(obj, depth)
    finally:
        _checking.discard(id(obj))
    # A verdict reached while an enclosing definition was assumed fixed (a cycle)
    # holds only if that one is: kept only when no check encloses this one.
    if ok and not _checking:
        if len(_known) > 4096:
            _known.clear()
        _known[id(obj)] = obj
    return ok


def _function_values(fn) -> list:
    """What a function of a marked module carries by value: defaults, closure cells,
    the globals it reads (the modules among them too), its attributes."""
    values = callees.implicit_inputs(fn)
    if fn.__dict__:
        values += (value for name, value in fn.__dict__.items() if name != callees.MARKER)
    return values


def _class_fixed(cls, depth: int) -> bool:
    for base in cls.__bases__:
        if base is not object and not definition(base, depth + 1):
            return False
    for name, value in vars(cls).items():
        if isinstance(value, _FUNCTION_WRAPPERS):
            value = value.__func__
        if isinstance(value, property):
            if not all(part is None or fixed(part, depth + 1)
                       for part in (value.fget, value.fset, value.fdel)):
                return False
        elif type(value) is _FunctionType:
            if not fixed(value, depth + 1):
                return False
        elif not (_metadata(name) or isinstance(value, _STRUCTURE_DESCRIPTORS)
                  or fixed(value, depth + 1)):
            return False
    return True


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _metadata(name: str) -> bool:
    """Names that Python and the standard library keep on a class to describe it
    (``__annotations__``, ``__dataclass_fields__``, a namedtuple's ``_fields``, an
    enum's ``_member_map_``): never the program's data."""
    return _dunder(name) or name in ("_fields", "_field_defaults") or (
        len(name) > 2 and name[0] == "_" and name[-1] == "_" and name[1] != "_")


# -- what must wait -------------------------------------------------------------------

def reach(obj, deep: bool, futures: list, capture: bool = False) -> list | None:
    """The mutable objects a read of ``obj`` reaches: ``obj`` alone for a read of its
    own structure, everything it holds when ``deep`` (what serializing it writes,
    for a task's ``capture``). Fixed values and definitions are left out; futures
    go to ``futures``, not followed. None when that is not known: more than LIMIT
    objects, or an object whose class has code of the program's that a read (or a
    capture's pickling) runs, which may read anything."""
    out: list = []
    stack, seen = [obj], set()
    while stack:
        item = stack.pop()
        t = type(item)
        if t in VALUES:
            continue
        if t is Future:
            futures.append(item)
            continue
        if id(item) in seen:
            continue
        seen.add(id(item))
        if len(seen) > LIMIT:
            return None
        if t is tuple or t is frozenset or _namedtuple(item):  # what it holds may change
            if deep:
                stack.extend(item)
            continue
        if t is slice or isinstance(item, enum.Enum) or t in _DEFINITIONS \
                or isinstance(item, type):
            if not fixed(item):  # a definition carrying mutable values by value
                if t is _FunctionType:
                    stack.extend(_function_values(item))
                else:
                    stack.extend(gc.get_referents(item))
            continue
        out.append(item)
        if deep:
            if _runs_code(t, capture):
                return None
            stack.extend(gc.get_referents(item))
    return out


#: Special methods a class may define that a read does not call.
_NOT_READS = frozenset({"__init__", "__new__", "__init_subclass__", "__post_init__", "__del__",
                        "__set_name__", "__class_getitem__", "__subclasshook__"})
#: What pickling an object calls of its class's (``copyreg``, ``object.__reduce_ex__``).
_PICKLING = frozenset({"__reduce__", "__reduce_ex__", "__getstate__", "__getnewargs__",
                       "__getnewargs_ex__"})
_code_of_types: dict[tuple, bool] = {}


def _runs_code(t: type, capture: bool) -> bool:
    """Does reading (``capture``: pickling) an instance of ``t`` run code of the program:
    a special method, a property or another descriptor defined in Python?"""
    known = _code_of_types.get((t, capture))
    if known is not None:
        return known
    found = False
    for klass in t.__mro__:
        if klass.__module__ == "builtins" or klass.__module__ == "_collections":
            continue
        for name, value in vars(klass).items():
            if capture:
                found = name in _PICKLING
            elif isinstance(value, property) or (
                    type(value) is _FunctionType and _dunder(name) and name not in _NOT_READS):
                found = True
            else:
                kind = type(value)
                found = kind.__module__ != "builtins" and hasattr(kind, "__get__") \
                    and type(value) is not _FunctionType
            if found:
                break
        if found:
            break
    if len(_code_of_types) > 4096:
        _code_of_types.clear()
    _code_of_types[(t, capture)] = found
    return found


_DEFINITIONS = frozenset({_FunctionType, _BuiltinType, _MethodType, _ModuleType})


_NOW = float("inf")


def private(future: Future, clock=_NOW) -> bool:
    """Did nothing but futures lead to this value before the scheduler's ``clock``
    (where an entry was made; by default, now): no effect was given it, nor the
    workflow, nor was it read from an object that something else holds?"""
    shared = future._af_shared
    if shared and shared <= clock:
        return False
    sources = future._af_sources
    if not sources:
        return True
    stack, seen = list(sources), set()
    while stack:
        source = stack.pop()
        if id(source) in seen:
            continue
        shared = source._af_shared
        if shared and shared <= clock or len(seen) >= SOURCES_LIMIT:
            return False
        seen.add(id(source))
        stack.extend(source._af_sources)
    return True


def share(futures, clock: int) -> None:
    """These values, and those they were read from, are held outside futures from the
    scheduler's ``clock`` on (entries made before still see them private)."""
    stack = None
    for future in futures:  # most have no sources: no walk (sum() of 100,000 results)
        if not future._af_shared or future._af_shared > clock:
            future._af_shared = clock
        if future._af_sources:
            if stack is None:
                stack = []
            stack.extend(future._af_sources)
    seen: set = set()
    while stack:
        future = stack.pop()
        if id(future) in seen:
            continue
        seen.add(id(future))
        if not future._af_shared or future._af_shared > clock:
            future._af_shared = clock
        stack.extend(future._af_sources)


def shared_value(future: Future, clock: int) -> None:
    """The workflow is handed ``future``'s value: if it can change, it is shared now."""
    if not future._af_shared and type(future._af_value) not in VALUES \
            and not fixed(future._af_value):
        share((future,), clock)


def may_pass(check: tuple, read=None) -> bool:
    """Can an entry go ahead of the pending effects before it, now that the futures it
    waits for have values? ``check``: (the clock when it was made, those futures);
    ``read``: the entry, when it is a read. A value the program held by then (not
    private) that can change does not: it waits."""
    clock, futures = check
    mutable = False
    for future in futures:
        value = future._af_value
        if type(value) in VALUES or fixed(value):
            continue
        if not private(future, clock):
            return False
        mutable = True
    return not mutable or read is None or exempt_read(read.run, read.args, read.kwargs)


# -- reads that run no code of the program ------------------------------------------------

def _value(x):
    return x._af_value if type(x) is Future else x


def exempt_read(fn, args, kwargs) -> bool:
    """Does ``fn(*args)`` run only builtin code on its values' own structure, so that
    it reads nothing a pending effect may change as long as those values are private?"""
    if kwargs:
        return False
    values = [_value(arg) for arg in args]
    check = _STRUCTURAL.get(fn) or _STRUCTURAL.get(getattr(fn, "__code__", None))
    if check is not None and check(*values):
        return True
    return all(type(value) in VALUES or _builtin_data(value) for value in values)


def _builtin_data(value) -> bool:
    t = type(value)
    if t not in _BUILTIN_DATA or len(value) > LIMIT:
        return False
    items = value.items() if t is dict else value
    for item in items:
        if t is dict:
            if type(item[0]) not in VALUES or type(item[1]) not in VALUES:
                return False
        elif type(item) not in VALUES:
            return False
    return True


def derived_private(fn, args, kwargs) -> bool:
    """After a read ran: is its result reached only through the futures it was read
    from (a part of them, or a new object), so that it is private while they are?"""
    for arg in args:
        if type(arg) is Future:
            if not private(arg):
                return False
        elif type(arg) not in VALUES and not fixed(arg):
            return False
    return exempt_read(fn, args, kwargs)


def structural_read(fn, args) -> bool:
    """Does ``fn(*args)`` read no more than its first argument's own structure (an item,
    an instance's attribute, its length, its unpacking)? A future's value not known
    yet is checked when it is (``exempt_read``)."""
    check = _STRUCTURAL.get(fn) or _STRUCTURAL.get(getattr(fn, "__code__", None))
    if check is None:
        return False
    values = []
    for arg in args:
        if type(arg) is Future:
            if arg._af_value is _UNSET:
                return True
            arg = arg._af_value
        values.append(arg)
    return check(*values)


def _item(obj, index=None, *_) -> bool:
    t = type(obj)
    if t is list or t is tuple:
        return type(index) in (int, bool, slice)
    return t is dict and type(index) in VALUES


def own_attribute(obj, name=None, *_) -> bool:
    """An instance's own attribute, a slot or a namedtuple field: no property, no
    ``__getattribute__`` of the program's."""
    t = type(obj)
    if t.__getattribute__ is not object.__getattribute__ or type(name) is not str:
        return False
    for klass in t.__mro__:
        found = vars(klass).get(name, _UNSET)
        if found is not _UNSET:
            if isinstance(found, _STRUCTURE_DESCRIPTORS):
                return True
            kind = type(found)
            if hasattr(kind, "__set__") or hasattr(kind, "__delete__"):
                return False
            break
    own = getattr(obj, "__dict__", None)
    return type(own) is dict and name in own


def _sequence(obj, *_) -> bool:
    return type(obj) in (list, tuple)


def _sized(obj, *_) -> bool:
    return type(obj) in _BUILTIN_DATA


_STRUCTURAL: dict = {operator.getitem: _item, getattr: own_attribute, len: _sized}


def structural(fn, check=_sequence) -> None:
    """Register a read of the runtime's (by function or by code) as structural."""
    _STRUCTURAL[fn] = check
