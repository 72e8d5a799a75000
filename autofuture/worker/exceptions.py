"""Exceptions that cross the worker boundary whole.

Pickle rebuilds an exception by calling its class with ``args`` and drops
``__cause__``, ``__context__`` and every traceback, so a class whose
``__init__`` takes other arguments fails to load, and chains arrive cut. A
task's exception travels here instead as a table of plain records, one per
exception reachable from it: its ``__cause__`` and ``__context__``, the
members of an exception group, and exceptions held directly in ``args`` or
attributes. Each record holds

- the class (by name for builtins, else pickled: by reference when
  importable, by value for classes of marked modules and ``__main__``);
- ``args``, the instance ``__dict__`` (``__notes__`` included) and the
  fields Python keeps outside it (``AttributeError.name``/``obj``,
  ``OSError.filename``, slots, ...), each value on its own, so that one that
  cannot travel costs only itself: it arrives as a stand-in showing its
  ``repr``, with a note saying so;
- the links, by position in the table, and ``__suppress_context__``;
- the exception's own frames, with the positions of the failing expression,
  for which ``frames`` makes stand-ins that print as the worker's did, carets
  included; a ``NameError`` also carries the names its frame could see, so
  that Python's "Did you mean" comes out as it did there.

The workflow rebuilds each exception without calling ``__init__`` (the
nearest builtin ``__new__``, then the fields and ``__dict__``), unless its
class defines its own ``__reduce__``, whose way is then kept. Only a class
that cannot be loaded at all gives an ``autofuture.RemoteError``, with a
note saying why.
"""

from __future__ import annotations

import builtins
import sys
import traceback
import types
import weakref

from .._errors import RemoteError
from . import frames as _frames
from . import serialize as _serialize

_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by a class statement or an extension
_ATOMS = frozenset({int, float, complex, bool, str, bytes, type(None)})  # immutable: inline
_NOTES = "__notes__"
_OURS = "__autofuture"  # attributes of ours on an exception (__autofuture_tb__): not sent

# How one value travels.
_ATOM, _BLOB, _UNSENT, _LINK = 0, 1, 2, 3
# How one class travels.
_BUILTIN, _PICKLED, _LOST = 0, 1, 2
# Fields of a record.
(_CLASS, _NAME, _MESSAGE, _ARGS, _STATE, _FIELDS, _REDUCED, _CAUSE, _CONTEXT, _SUPPRESS,
 _MEMBERS, _FRAMES) = range(12)


# -- the worker side ---------------------------------------------------------------------

def pack(exc: BaseException, frames=None, outside: BaseException | None = None) -> tuple:
    """A table of plain records, the first ``exc``'s: what ``unpack`` rebuilds it from.

    ``frames`` replaces the first record's frames (a lost MPI rank's stack).
    ``outside`` is what the thread was handling when the task started (a task run
    inline, by the serial executor): not the task's, so no ``__context__`` of it.
    """
    order = [exc]
    where = {id(exc): 0}

    def link(other: BaseException) -> int:
        index = where.get(id(other))
        if index is None:
            index = where[id(other)] = len(order)
            order.append(other)
        return index

    table = []
    for exc_ in order:  # grows while it is walked
        table.append(_record(exc_, link, outside))
    if frames is not None:
        first = list(table[0])
        first[_FRAMES] = tuple(frames)
        table[0] = tuple(first)
    return tuple(table)


def root_frames(packed) -> tuple:
    """The frames of the packed exception itself (the task's, below its call site)."""
    return packed[0][_FRAMES]


def _record(exc: BaseException, link, outside) -> tuple:
    cls = type(exc)
    reduced = None
    if _custom_reduce(cls):
        try:  # the class says how it is pickled: keep its way
            reduced = _serialize.dumps(_Detached(exc))
        except Exception:  # noqa: BLE001 - its own way failed: the fields then
            reduced = None
    group = isinstance(exc, _GROUP)
    if reduced is not None:
        args = state = fields = ()
        notes = getattr(exc, _NOTES, None)
        if isinstance(notes, list):
            state = ((_NOTES, _value(notes, link, _NOTES)),)
    else:
        args = ((_value(exc.message, link, "message"),) if group
                else tuple(_value(arg, link, f"args[{i}]") for i, arg in enumerate(exc.args)))
        state = tuple((name, _value(value, link, name))
                      for name, value in _instance_dict(exc).items()
                      if not name.startswith(_OURS))
        fields = []
        for name in _fields(cls):
            try:
                value = getattr(exc, name)
            except AttributeError:  # an unset slot, OSError.characters_written
                continue
            if value is not None:  # None is how an unset field reads (OSError.filename)
                fields.append((name, _value(value, link, name)))
        fields = tuple(fields)
    cause = exc.__cause__
    context = exc.__context__
    if context is outside:
        context = None
    return (
        _class_ref(cls), _qualified(cls), message(exc), args, state, fields, reduced,
        None if cause is None else link(cause),
        None if context is None else link(context),
        exc.__suppress_context__,
        tuple(link(member) for member in exc.exceptions) if group else None,
        _frames.read(exc),
    )


class _Detached:
    """An exception pickled its own way, links and traceback left behind (they travel
    in the record, and an exception with a traceback cannot be pickled by value)."""

    def __init__(self, exc):
        self.exc = exc

    def __reduce__(self):
        return self.exc.__reduce_ex__(_serialize.PROTOCOL)


def _value(value, link, where: str) -> tuple:
    kind = type(value)
    if kind in _ATOMS:
        return (_ATOM, value)
    if isinstance(value, BaseException):
        return (_LINK, link(value))
    try:
        return (_BLOB, _serialize.dumps(value))
    except Exception as why:  # noqa: BLE001 - the value stays behind; its repr goes
        return (_UNSENT, _repr(value), _qualified(kind), where, _why(why), _names(value))


def _repr(value) -> str:
    try:
        return repr(value)
    except Exception:  # noqa: BLE001
        return f"<{_qualified(type(value))} object>"


def _names(value) -> tuple:
    """What dir() gives, so that an AttributeError about it still offers its hint."""
    try:
        return tuple(dir(value))
    except Exception:  # noqa: BLE001
        return ()


def _why(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # noqa: BLE001
        return "<exception str() failed>"


def _instance_dict(exc: BaseException) -> dict:
    try:
        return vars(exc)
    except TypeError:
        return {}


_class_refs: dict = {}


def _class_ref(cls) -> tuple:
    ref = _class_refs.get(cls)
    if ref is not None:
        return ref
    if cls.__module__ == "builtins" and getattr(builtins, cls.__name__, None) is cls:
        ref = _class_refs[cls] = (_BUILTIN, cls.__name__)
        return ref
    try:
        return (_PICKLED, _serialize.dumps(cls))
    except Exception as why:  # noqa: BLE001 - it arrives as a RemoteError, saying why
        return (_LOST, f"its class could not be sent from the worker ({_why(why)})")


def _qualified(cls) -> str:
    module = getattr(cls, "__module__", None)
    name = getattr(cls, "__qualname__", None) or getattr(cls, "__name__", "?")
    return name if module in (None, "builtins", "__main__") else f"{module}.{name}"


_GROUP = (BaseExceptionGroup,) if sys.version_info >= (3, 11) else ()  # noqa: F821
_field_names: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # classes made in tasks


def _fields(cls) -> tuple:
    """Attributes kept outside ``__dict__``: builtin exceptions' fields and slots."""
    names = _field_names.get(cls)
    if names is None:
        found = []
        for base in cls.__mro__:
            if base is BaseException or base is object or (_GROUP and base is _GROUP[0]):
                continue  # args, the links, and a group's message and members travel apart
            builtin = not base.__flags__ & _HEAPTYPE
            for name, attribute in vars(base).items():
                if name.startswith("__") or name in found:
                    continue
                if isinstance(attribute, types.MemberDescriptorType) or (
                        builtin and isinstance(attribute, types.GetSetDescriptorType)):
                    found.append(name)
        names = _field_names[cls] = tuple(found)
    return names


def _custom_reduce(cls) -> bool:
    """Whether a class of the program (not Python's) says how it is pickled."""
    for base in cls.__mro__:
        if not base.__flags__ & _HEAPTYPE:
            return False
        own = vars(base)
        if "__reduce__" in own or "__reduce_ex__" in own:
            return True
    return False


# -- the workflow side ------------------------------------------------------------------

def unpack(packed, handling: BaseException | None = None) -> BaseException:
    """The first exception of a table, rebuilt with its links; every linked exception
    has its traceback, the first none (its call site is added when it is raised).

    ``handling`` is the exception the workflow was handling at the task's call:
    in the plain run, every exception the task raised outside a handler of its
    own would have had it as ``__context__``.
    """
    built: list = [None] * len(packed)
    for index in range(len(packed) - 1, -1, -1):  # links point forward, mostly
        _build(packed, index, built)
    for index, record in enumerate(packed):
        exc = built[index]
        _link(exc, record, built, index == 0)
        if handling is not None and record[_CONTEXT] is None and record[_FRAMES]:
            exc.__context__ = handling  # raised (it has frames) while the task handled none
    return built[0]


def raise_as_is(exc: BaseException):
    """Raise ``exc`` keeping its ``__context__``, which ``raise`` would set to whatever
    is being handled where it runs (here, an error of the runtime's, or a later one)."""
    context, suppress = exc.__context__, exc.__suppress_context__
    try:
        raise exc
    except BaseException:
        exc.__context__, exc.__suppress_context__ = context, suppress
        raise


def _build(packed, index: int, built: list) -> BaseException:
    exc = built[index]
    if exc is not None:
        return exc
    record = packed[index]
    notes: list[str] = []
    cls, why = _load_class(record[_CLASS])
    exc = None
    if cls is not None and record[_REDUCED] is not None:
        try:
            exc = _serialize.loads(record[_REDUCED])
        except Exception as error:  # noqa: BLE001
            cls, why = None, f"it could not be rebuilt in the workflow process ({_why(error)})"
    if cls is not None and exc is None:
        members = record[_MEMBERS]
        if members is not None:  # a group's members first: its __new__ wants them
            built[index] = _PENDING
            parts = [_build(packed, member, built) for member in members]
            built[index] = None
            parts = [part for part in parts if part is not _PENDING]
        args = tuple(_load(value, packed, built, notes) for value in record[_ARGS])
        try:
            exc = _new(cls, args if members is None else (args[0], parts))
        except Exception as error:  # noqa: BLE001
            cls, why = None, f"it could not be rebuilt in the workflow process ({_why(error)})"
    if exc is None:
        exc = remote_error(record[_NAME], record[_MESSAGE], record[_FRAMES], why)
    else:
        for name, value in record[_FIELDS]:
            _set(exc, name, _load(value, packed, built, notes))
        state = {name: _load(value, packed, built, notes) for name, value in record[_STATE]}
        if state:
            _set_state(exc, state)
    if notes:
        add_notes(exc, notes)
    built[index] = exc
    return exc


_PENDING = object()  # a group being built (a member that holds it gets None)


def _link(exc, record, built, root: bool) -> None:
    cause, context = record[_CAUSE], record[_CONTEXT]
    if cause is not None:
        exc.__cause__ = built[cause]
    if context is not None:
        exc.__context__ = built[context]
    exc.__suppress_context__ = record[_SUPPRESS]
    if not root:
        exc.__traceback__ = _frames.traceback_of(record[_FRAMES])


def _load_class(ref) -> tuple:
    kind, data = ref
    if kind == _BUILTIN:
        return getattr(builtins, data), None
    if kind == _LOST:
        return None, data
    try:
        cls = _serialize.loads(data)
    except Exception as error:  # noqa: BLE001
        return None, f"its class could not be loaded in the workflow process ({_why(error)})"
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        return None, f"its class came back as {cls!r}"
    return cls, None


def _load(value, packed, built, notes: list):
    kind = value[0]
    if kind == _ATOM:
        return value[1]
    if kind == _LINK:
        exc = _build(packed, value[1], built)
        return None if exc is _PENDING else exc
    if kind == _BLOB:
        try:
            return _serialize.loads(value[1])
        except Exception as error:  # noqa: BLE001
            notes.append("autofuture: a value of this exception could not be loaded in the "
                         f"workflow process ({_why(error)}); it is replaced by a stand-in.")
            return StandIn("<a value that could not be loaded in the workflow process>", ())
    _, text, type_name, where, why, names = value
    notes.append(f"autofuture: {where} (a {type_name}) could not be sent from the worker "
                 f"({why}); it is replaced by a stand-in showing its repr.")
    return StandIn(text, names)


class StandIn:
    """What a value that could not travel becomes: its repr, and its dir() (from which
    Python suggests a name for an AttributeError about it)."""

    __slots__ = ("_repr", "_names")

    def __init__(self, text: str, names: tuple):
        self._repr = text
        self._names = names

    def __repr__(self) -> str:
        return self._repr

    def __dir__(self):
        return list(self._names)


def _new(cls, args: tuple) -> BaseException:
    """An instance made by the nearest ``__new__`` written in C: no ``__init__`` runs."""
    for base in cls.__mro__:
        new = vars(base).get("__new__")
        if new is not None and not isinstance(new, staticmethod):
            exc = new(cls, *args)
            if type(exc) is not cls:  # OSError(2, ...) picks a subclass by its errno
                raise TypeError(f"{base.__name__}.__new__ made a {type(exc).__name__}")
            return exc
    raise TypeError(f"no builtin __new__ in the bases of {cls.__name__}")


def _set(exc, name: str, value) -> None:
    try:
        setattr(exc, name, value)
    except (AttributeError, TypeError):  # read-only here (a group's members)
        pass


def _set_state(exc, state: dict) -> None:
    try:
        exc.__setstate__(state)  # what pickle calls; BaseException's sets each attribute
    except Exception:  # noqa: BLE001 - a __setstate__ of the program's that wants its own
        for name, value in state.items():
            _set(exc, name, value)


def add_notes(exc, notes: list) -> None:
    existing = getattr(exc, _NOTES, None)
    if not isinstance(existing, list):
        existing = []
        _set(exc, _NOTES, existing)
    existing.extend(notes)


def remote_error(type_name: str, message: str, frames, why: str) -> RemoteError:
    """What an exception whose class cannot be loaded here becomes, saying why."""
    summaries = [traceback.FrameSummary(frame[0], frame[1], frame[2]) for frame in frames]
    text = "".join(["Traceback (most recent call last):\n", *traceback.format_list(summaries),
                    f"{type_name}: {message}\n" if message else f"{type_name}\n"])
    exc = RemoteError(type_name, message, text)
    add_notes(exc, [f"autofuture: {type_name} arrives as a RemoteError: {why}."])
    return exc
