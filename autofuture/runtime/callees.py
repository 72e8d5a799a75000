"""Which calls are tasks, what a task reads, and what its result's arity is.

SPEC §4: the callee is resolved when the call runs. A plain function (not a
generator or coroutine function) compiled from a marked module is a task;
so is anything wrapped by ``autofuture.task``. Methods, classes, builtins
and functions of other modules are local calls.
"""

from __future__ import annotations

import builtins
import inspect
import math
import types
import typing
import warnings

from .._errors import ModuleStateWarning

TASK, LOCAL, WORKFLOW = "task", "local", "workflow"
MARKER = "__autofuture__"

#: Files of marked modules: functions compiled from them are tasks.
marked_files: set[str] = set()

_NOT_PLAIN = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR

# Caches about code objects are keyed by id(code), with the code object kept in the
# value (so the id stays its own): a code object's hash is computed afresh at every
# lookup, over its bytecode and every constant, nested functions' code included.
_code_kinds: dict[int, tuple[types.CodeType, str]] = {}


class TaskOptions:
    """Per-task settings given to ``autofuture.task(...)``."""

    def __init__(self, retries: int = 0, retry_on: tuple = ()):
        self.retries = retries
        self.retry_on = tuple(retry_on)


class TaskFunction:
    """``autofuture.task(f)`` for a callable that cannot carry a marker (a builtin)."""

    def __init__(self, fn, options: TaskOptions):
        self.__wrapped__ = fn
        self.options = options
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self.__qualname__ = getattr(fn, "__qualname__", self.__name__)
        self.__doc__ = getattr(fn, "__doc__", None)

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, **kwargs)

    def __repr__(self):
        return f"<autofuture task {self.__qualname__}>"


def kind_of(fn) -> str:
    t = type(fn)
    if t is types.FunctionType:
        marker = fn.__dict__.get(MARKER) if fn.__dict__ else None
        if marker is not None:
            return TASK if isinstance(marker, TaskOptions) else marker
        code = fn.__code__
        known = _code_kinds.get(id(code))
        if known is not None and known[0] is code:
            return known[1]
        plain = not code.co_flags & _NOT_PLAIN
        kind = TASK if plain and code.co_filename in marked_files else LOCAL
        _code_kinds[id(code)] = (code, kind)
        return kind
    if t is types.MethodType:
        marker = getattr(fn.__func__, MARKER, None)
        return TASK if isinstance(marker, TaskOptions) else LOCAL
    if t is TaskFunction:
        return TASK
    return LOCAL


#: (file, first line of a task function) -> [(line, message)] still to give, at that
#: function's first call as a task (see ``language/module_state.py``).
first_call_warnings: dict[tuple[str, int], list[tuple[int, str]]] = {}


def add_first_call_warnings(filename: str, found: tuple) -> None:
    for first, line, message in found:
        first_call_warnings.setdefault((filename, first), []).append((line, message))


def warn_first_call(fn) -> None:
    """Give what was found about a task function's changes of module state, once, through
    ``warnings`` (``-W error`` makes it fatal), pointing at the line that changes it."""
    func = getattr(fn, "__func__", fn)
    code = getattr(func, "__code__", None)
    if code is None:
        return
    found = first_call_warnings.pop((code.co_filename, code.co_firstlineno), None)
    for line, message in found or ():
        warnings.warn_explicit(message, ModuleStateWarning, code.co_filename, line,
                               module=getattr(func, "__module__", None),
                               module_globals=getattr(func, "__globals__", None))


def task_options(fn) -> TaskOptions | None:
    """The options given with ``autofuture.task(...)``, if any."""
    if type(fn) is TaskFunction:
        return fn.options
    marker = getattr(getattr(fn, "__func__", fn), MARKER, None)
    return marker if isinstance(marker, TaskOptions) else None


def task_name(fn) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


# -- a task's inputs beyond its arguments -------------------------------------

_code_globals: dict[int, tuple[types.CodeType, tuple[str, ...]]] = {}


def _global_names(code: types.CodeType) -> tuple[str, ...]:
    known = _code_globals.get(id(code))
    if known is not None and known[0] is code:
        return known[1]
    found = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found.update(_global_names(const))
    names = tuple(sorted(found))
    _code_globals[id(code)] = (code, names)
    return names


def implicit_inputs(fn) -> list:
    """Module globals, closure cells and defaults a task function reads.

    Futures among them are dependencies; mutable ones wait for pending effects
    before they are captured (``_runahead``). Functions of marked modules it
    reads are followed, since they travel by value with it.
    """
    inputs: list = []
    seen: set[int] = set()
    stack = [fn.__func__ if isinstance(fn, types.MethodType) else fn]
    while stack:
        func = stack.pop()
        if id(func) in seen or type(func) is not types.FunctionType:
            continue
        seen.add(id(func))
        if func.__defaults__:
            inputs.extend(func.__defaults__)
        if func.__kwdefaults__:
            inputs.extend(func.__kwdefaults__.values())
        for cell in func.__closure__ or ():
            try:
                inputs.append(cell.cell_contents)
            except ValueError:
                pass
        namespace = func.__globals__
        for name in _global_names(func.__code__):
            if name in namespace:
                value = namespace[name]
                if type(value) is types.FunctionType \
                        and value.__code__.co_filename in marked_files:
                    stack.append(value)
                else:
                    inputs.append(value)
    return inputs


# -- arity from return annotations -------------------------------------------

_class_arities: dict[type, int | None] = {}
_UNKNOWN = object()


def return_arity(fn) -> int | None:
    """The length a ``-> tuple[a, b]`` or ``-> SomeNamedTuple`` annotation promises."""
    fn = getattr(fn, "__wrapped__", fn)
    fn = getattr(fn, "__func__", fn)
    annotations = getattr(fn, "__annotations__", None)
    if not annotations or "return" not in annotations:
        return None
    ann = annotations["return"]
    if isinstance(ann, str):
        try:
            ann = eval(ann, getattr(fn, "__globals__", {}))  # noqa: S307 - the user's annotation
        except Exception:
            return None
    if type(ann) is type:  # int, a NamedTuple: asked at every call, so remembered
        arity = _class_arities.get(ann, _UNKNOWN)
        if arity is _UNKNOWN:
            arity = _class_arities[ann] = (len(ann._fields) if issubclass(ann, tuple)
                                           and hasattr(ann, "_fields") else None)
        return arity
    if isinstance(ann, type) and issubclass(ann, tuple) and hasattr(ann, "_fields"):
        return len(ann._fields)
    if typing.get_origin(ann) is tuple:
        args = typing.get_args(ann)
        if args and args[-1] is not Ellipsis and args != ((),):
            return len(args)
        if args == ((),):
            return 0
    return None


def annotation_text(fn) -> str:
    fn = getattr(fn, "__wrapped__", fn)
    ann = getattr(fn, "__annotations__", {}).get("return")
    if isinstance(ann, str):
        return ann
    if isinstance(ann, type):
        return ann.__name__
    return repr(ann).replace("typing.", "")


# -- calls that change nothing the workflow can see ----------------------------

PURE_BUILTINS = frozenset(
    getattr(builtins, name) for name in (
        "len abs min max sum sorted round divmod pow isinstance issubclass hash repr "
        "str int float complex bool tuple frozenset list dict set range enumerate zip "
        "reversed any all chr ord hex oct bin format type ascii"
    ).split()
) | frozenset(
    value for value in vars(math).values() if isinstance(value, types.BuiltinFunctionType)
)

_IMMUTABLE_RECEIVERS = frozenset({str, bytes, int, float, complex, tuple, frozenset, range})


def is_pure(fn, args=()) -> bool:
    """A builtin (or a method of an immutable builtin value) with no visible effect.

    What it does is known, as builtin code: it changes nothing, except an
    iterator among ``args``, which it consumes (``list(it)``, ``"".join(gen)``).
    Whether it may run before pending effects is another question (``_runahead``).
    """
    try:
        pure = fn in PURE_BUILTINS
    except TypeError:
        return False
    if not pure:
        receiver = getattr(fn, "__self__", None)
        pure = type(fn) is types.BuiltinMethodType and type(receiver) in _IMMUTABLE_RECEIVERS
    if pure:
        for arg in args:
            if hasattr(type(arg), "__next__"):
                return False
    return pure


# -- messages -----------------------------------------------------------------

def describe_unpicklable(entry, exc: Exception) -> str:
    """Name the argument that cannot travel, its type, and the task."""
    from ..worker import serialize
    from .values import resolve

    fn, args, kwargs = entry.run, resolve(entry.args or ()), resolve(entry.kwargs or {})
    name = task_name(fn)
    try:
        bound = inspect.signature(fn).bind_partial(*args, **kwargs).arguments
    except (TypeError, ValueError):
        bound = {f"#{i + 1}": a for i, a in enumerate(args)} | dict(kwargs)
    for param, value in bound.items():
        try:
            serialize.dumps(value)
        except Exception:
            return (
                f"argument {param!r} of task {name}() is a {type(value).__module__}."
                f"{type(value).__qualname__}, which cannot be sent to a worker ({exc}). "
                f"Create it inside the task, pass something picklable instead, or mark "
                f"{name} with @autofuture.local to run it in the workflow process."
            )
    return (
        f"task {name}() cannot be sent to a worker: a global, default or closure value it "
        f"reads cannot be serialized ({exc}). Create that value inside the task, or mark "
        f"{name} with @autofuture.local to run it in the workflow process."
    )
