"""What a pending effect may change: the side of the run-ahead rule that looks at
effects (``runtime.runahead`` has the rule and the side that looks at reads).

An effect is classified when it is made. Builtin code is known
(``effect_writes``); a call of a marked module's code may change what it can
reach, followed through its arguments, its object, the globals it reads and
the marked code among those (``call_reach``); anything else may change
anything. A local call that assigns a global or a closure variable
(``rebinds``), and a mutation of a class, module or function
(``is_definition_target``), are waited for where they are made.
"""

from __future__ import annotations

import collections
import dis
import gc
import io
import operator
import sys
import types

from . import callees, payloads
from .future import _UNSET, Future
from .runahead import _FUNCTION_WRAPPERS, LIMIT, VALUES, _namedtuple, private

_FunctionType = types.FunctionType
_MethodType = types.MethodType
_ModuleType = types.ModuleType
_BuiltinType = types.BuiltinFunctionType
_DEFINITIONS = frozenset({_FunctionType, _BuiltinType, _MethodType, _ModuleType})


# -- what a pending effect may change -------------------------------------------------

#: Builtin containers and the methods that change them and nothing else (the code
#: they run on items, ``__eq__``, ``__hash__``, ``__lt__``, only reads).
_MUTATORS = {
    list: frozenset({"append", "insert", "pop", "clear", "reverse", "sort", "remove",
                     "extend", "__setitem__", "__delitem__", "__iadd__"}),
    dict: frozenset({"__setitem__", "__delitem__", "pop", "popitem", "setdefault",
                     "clear", "update"}),
    set: frozenset({"add", "discard", "remove", "pop", "clear", "update",
                    "difference_update", "intersection_update",
                    "symmetric_difference_update"}),
    bytearray: frozenset({"append", "extend", "insert", "pop", "remove", "clear",
                          "reverse", "__setitem__", "__delitem__"}),
    collections.deque: frozenset({"append", "appendleft", "pop", "popleft", "extend",
                                  "extendleft", "clear", "remove", "rotate", "reverse",
                                  "insert"}),
}
#: Methods that iterate over an argument: known only when it is a builtin container.
_ITERATING = frozenset({"extend", "extendleft", "update", "difference_update",
                        "intersection_update", "symmetric_difference_update", "__iadd__"})
#: Methods of builtin containers that change nothing.
_READERS = {
    list: frozenset({"count", "index", "copy"}),
    dict: frozenset({"get", "keys", "values", "items", "copy"}),
    set: frozenset({"copy", "isdisjoint", "issubset", "issuperset", "union",
                    "intersection", "difference", "symmetric_difference"}),
    collections.deque: frozenset({"count", "index", "copy"}),
}
#: Streams whose ``write`` changes the stream alone: print's only effect.
_STREAMS = (io.TextIOWrapper, io.StringIO)
_ITERABLE_ARGUMENTS = (list, tuple, dict, set, frozenset, str, bytes, bytearray, range)
#: Receivers whose methods may be known (``_MUTATORS``, ``_READERS``).
CONTAINERS = frozenset(_MUTATORS)


def effect_writes(fn, args, kwargs) -> tuple | None:
    """What an effect about to run may change, when its code is builtin and known:
    ``(objects it writes, arguments it keeps)``. None: it may change anything (a
    function or method of the program or of a library, or a builtin not listed)."""
    if fn is print:
        if set(kwargs) - {"sep", "end", "file", "flush"} or any(
                type(kwargs.get(key)) not in VALUES for key in ("sep", "end", "flush")):
            return None
        stream = kwargs.get("file") or sys.stdout
        if not (type(stream) in _STREAMS or type(stream).__module__.startswith("autofuture.")):
            return None
        return (stream,), ()
    if fn is setattr or fn is delattr:
        obj, name = args[0], args[1]
        if type(obj) is Future or not _plain_attribute_store(obj, name):
            return None
        return (obj,), args[2:]
    if fn is operator.setitem or fn is operator.delitem:
        obj, index = args[0], args[1]
        if type(obj) not in (list, dict, bytearray):
            return None
        if type(index) is slice and len(args) > 2 \
                and type(args[2]) not in _ITERABLE_ARGUMENTS:
            return None  # xs[i:j] = it iterates it
        return (obj,), args[1:]
    receiver = getattr(fn, "__self__", None)
    if type(fn) is not _BuiltinType or receiver is None:
        return None
    kind, name = type(receiver), fn.__name__
    if name in _READERS.get(kind, ()):
        return (), ()
    if name not in _MUTATORS.get(kind, ()):
        return None
    if name in _ITERATING and any(type(arg) not in _ITERABLE_ARGUMENTS for arg in args):
        return None
    return (receiver,), tuple(args) + tuple(kwargs.values())


def _plain_attribute_store(obj, name) -> bool:
    """``obj.name = v`` stores into ``obj`` itself: no ``__setattr__`` of the program's,
    no property or other descriptor of the class in the way (a slot is fine)."""
    t = type(obj)
    if t.__setattr__ is not object.__setattr__ or type(name) is not str \
            or isinstance(obj, type) or t in _DEFINITIONS:
        return False
    for klass in t.__mro__:
        found = vars(klass).get(name, _UNSET)
        if found is not _UNSET:
            if isinstance(found, types.MemberDescriptorType):
                return True
            kind = type(found)
            return not (hasattr(kind, "__set__") or hasattr(kind, "__delete__"))
    return True


# -- what a call of the program's may change ---------------------------------------------

#: Names whose use lets code reach objects it was not given: by name (``globals()``,
#: ``getattr`` with a computed name), through a frame or a function's globals.
_REACHING_NAMES = frozenset({
    "globals", "locals", "vars", "eval", "exec", "compile", "__import__", "getattr",
    "setattr", "delattr", "breakpoint", "__globals__", "__builtins__", "__subclasses__",
    "__closure__", "__code__", "f_globals", "f_locals", "f_back", "f_builtins",
    "gi_frame", "cr_frame", "ag_frame", "tb_frame", "tb_next", "gc", "sys", "inspect",
    "get_objects", "get_referrers", "get_referents", "_getframe", "_current_frames",
})
#: Modules whose functions are builtin code that reaches only what it is given.
_PLAIN_MODULES = frozenset({"math", "cmath", "operator", "itertools", "time"})
#: Classes of the standard library whose code is builtin and reaches only the object.
_PLAIN_CLASSES = frozenset({collections.deque, collections.OrderedDict,
                            collections.defaultdict})
_REACHING_OPS = frozenset({"IMPORT_NAME", "IMPORT_FROM", "IMPORT_STAR", "STORE_GLOBAL",
                           "DELETE_GLOBAL"})
_code_reaches: dict[int, tuple] = {}  # by id(code): (code, reaches by name alone)


def _reaches_by_name(code: types.CodeType) -> bool:
    """Does this code (or code nested in it) import, assign globals, or use a name
    that reaches objects it was not given (``_REACHING_NAMES``)?"""
    known = _code_reaches.get(id(code))
    if known is not None and known[0] is code:
        return known[1]
    found = any(name in _REACHING_NAMES for name in code.co_names) or any(
        instruction.opname in _REACHING_OPS for instruction in dis.get_instructions(code))
    if not found:
        found = any(_reaches_by_name(const) for const in code.co_consts
                    if isinstance(const, types.CodeType))
    if len(_code_reaches) > 4096:
        _code_reaches.clear()
    _code_reaches[id(code)] = (code, found)
    return found


def call_reach(fn, args, kwargs) -> list | None:
    """The mutable objects a call of a function, method or class of a marked module
    can reach, and so change, when it runs now: everything reachable from its
    arguments, its receiver, its defaults and closure cells and the globals its code
    reads, and from the functions and classes of marked modules found among those
    (whose code may be called on them). None when that is not known: code of a
    library's (a function, a class of the objects reached), code that reaches
    objects by name (``_REACHING_NAMES``, an import), more than LIMIT objects."""
    functions: list = []
    objects: list = [*args, *kwargs.values()]
    if isinstance(fn, type):
        objects.append(fn)
    elif type(fn) is _MethodType:
        objects.append(fn.__self__)
        functions.append(fn.__func__)
    elif type(fn) is _FunctionType:
        functions.append(fn)
    else:
        objects.append(fn)  # a callable object: its class's __call__ is followed
    out: list = [sys.stdout, sys.stderr]  # print writes them, by name
    seen: set = set()
    followed: set = set()  # functions whose code was read
    while objects or functions:
        if functions:
            func = functions.pop()
            if id(func) in followed:
                continue
            followed.add(id(func))
            code = func.__code__
            if code.co_filename not in callees.marked_files or _reaches_by_name(code):
                return None
            namespace = func.__globals__
            objects += (namespace[name] for name in callees._global_names(code)
                        if name in namespace)
            objects += func.__defaults__ or ()
            objects += (func.__kwdefaults__ or {}).values()
            for cell in func.__closure__ or ():
                try:
                    objects.append(cell.cell_contents)
                except ValueError:
                    pass
            continue
        item = objects.pop()
        t = type(item)
        if t in VALUES or id(item) in seen:
            continue
        seen.add(id(item))
        if len(seen) > LIMIT:
            return None
        if t is Future:
            if item._af_value is _UNSET:
                if not private(item):
                    return None  # a value the program may hold, not known yet
                continue  # a task's result, made afresh: it reaches nothing of ours
            objects.append(item._af_value)
            continue
        if t is _FunctionType:
            functions.append(item)
        elif t is _MethodType:
            functions.append(item.__func__)
            objects.append(item.__self__)
        elif t is _BuiltinType:
            if item.__name__ in _REACHING_NAMES:
                return None
            if type(item.__self__) is not _ModuleType:  # a method: its object
                objects.append(item.__self__)
        elif isinstance(item, type):
            if item.__module__ == "builtins" or item in _PLAIN_CLASSES:
                continue
            if t is not type or not _marked_class(item):
                return None  # a library's class (or a metaclass): its code may run
            for value in vars(item).values():
                if isinstance(value, _FUNCTION_WRAPPERS):
                    value = value.__func__
                elif isinstance(value, property):
                    objects += (value.fget, value.fset, value.fdel)
                    continue
                objects.append(value)
            objects += item.__bases__
        elif t is _ModuleType:
            if item.__name__ not in _PLAIN_MODULES:
                return None  # a library's, or a marked module's namespace: anything
        elif t in _ITERATORS_AND_FRAMES:
            return None
        else:
            if t.__module__ != "builtins" and t not in _PLAIN_CLASSES \
                    and not _marked_class(t):
                return None  # an object of a library's class: its methods may be called
            objects.append(t)
            if t is not tuple and t is not frozenset and not _namedtuple(item):
                out.append(item)
            objects += gc.get_referents(item)
    return out


def _marked_class(cls) -> bool:
    """A class defined in a marked module (its code is the program's, and known)."""
    module = sys.modules.get(cls.__module__)
    return module is not None and getattr(module, "__file__", None) in callees.marked_files


_ITERATORS_AND_FRAMES = frozenset({types.GeneratorType, types.CoroutineType,
                                   types.AsyncGeneratorType, types.FrameType,
                                   types.TracebackType, types.CellType})


# -- effects that change what names refer to ------------------------------------------

def rebinds(fn) -> bool:
    """Does calling ``fn`` assign a global or a closure variable (``global``/``nonlocal``
    in its code, or in the code of the marked functions it reads by name)?"""
    if isinstance(fn, type):
        return any(rebinds(getattr(fn, name, None)) for name in ("__new__", "__init__"))
    fn = getattr(fn, "__func__", fn)
    if type(fn) is not _FunctionType:
        call = getattr(type(fn), "__call__", None)  # noqa: B004 - its code, not callable()
        if type(call) is not _FunctionType:
            return False
        fn = call
    known = _rebinders.get(id(fn))
    if known is not None and known[0] is fn:
        return known[1]
    found = any(payloads._writes_outside(func.__code__)
                for func, _ in payloads._travelling(fn))
    if len(_rebinders) > 4096:
        _rebinders.clear()
    _rebinders[id(fn)] = (fn, found)
    return found


#: rebinds() by function (kept with its verdict, so that the id stays its own).
_rebinders: dict[int, tuple] = {}


def is_definition_target(obj) -> bool:
    """A class, module or function: mutating it changes what names of it refer to."""
    t = type(obj)
    return t is _ModuleType or t is _FunctionType or isinstance(obj, type)
