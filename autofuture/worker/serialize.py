"""One serializer for every executor: cloudpickle, with dill as the fallback.

cloudpickle is several times faster than dill on the small tuples that make
up most task messages; dill pickles some things cloudpickle cannot (for
example functions that close over their own generators' frames are still
out of reach of both, but dill handles more of the standard library's
oddities). A one-byte tag says which one wrote the payload.
"""

from __future__ import annotations

import collections
import collections.abc
import copyreg
import io
import pickle
import types

PROTOCOL = 5
_CLOUD, _DILL, _PLAIN = b"C", b"D", b"P"
_ATOMS = frozenset({int, float, complex, bool, str, bytes, type(None)})


def _plain(obj, depth: int = 0) -> bool:
    """Numbers, strings and small containers of them: most task arguments."""
    t = type(obj)
    if t in _ATOMS:
        return True
    if depth > 3:
        return False
    if t is tuple or t is list:
        if len(obj) > 64:
            return False
        for item in obj:  # a loop, not all(...): this runs for every task and result
            if type(item) not in _ATOMS and not _plain(item, depth + 1):
                return False
        return True
    if t is dict:
        if len(obj) > 64:
            return False
        for key, value in obj.items():
            if type(key) not in _ATOMS or (type(value) not in _ATOMS
                                           and not _plain(value, depth + 1)):
                return False
        return True
    return False

# cloudpickle is imported with the first task, not with the first marked
# module: a program that never sends a task does not pay for it.
_pickler = None
_by_value_pending: list = []


def _code_with_filename(rebuild, args, filename):
    return rebuild(*args).replace(co_filename=filename)


class _CopyregWithoutTblib(collections.abc.Mapping):
    """``copyreg.dispatch_table`` as it is now, less tblib's reducers for exceptions.

    Dask installs tblib's for every exception class in its processes (a worker,
    a workflow with a client); it rebuilds ``SystemExit`` without its ``code``
    (``sys.exit(4)`` in a task would exit 0). Exceptions travel as plain pickle
    makes them, as they do on every other executor.
    """

    def __getitem__(self, cls):
        reducer = copyreg.dispatch_table[cls]
        if getattr(reducer, "__module__", "").startswith("tblib"):
            raise KeyError(cls)
        return reducer

    def __iter__(self):
        return iter(copyreg.dispatch_table)

    def __len__(self):
        return len(copyreg.dispatch_table)


def _pickler_class():
    global _pickler
    if _pickler is None:
        import cloudpickle

        def reduce_code(code):
            """cloudpickle's reduction, keeping the real file name for remote tracebacks."""
            rebuild, args = cloudpickle.cloudpickle._code_reduce(code)
            return _code_with_filename, (rebuild, args, code.co_filename)

        class Pickler(cloudpickle.Pickler):
            dispatch_table = collections.ChainMap(
                {types.CodeType: reduce_code},
                *(_CopyregWithoutTblib() if table is copyreg.dispatch_table else table
                  for table in cloudpickle.Pickler.dispatch_table.maps))

        _pickler = Pickler
    while _by_value_pending:
        import cloudpickle

        try:
            cloudpickle.register_pickle_by_value(_by_value_pending.pop())
        except ValueError:
            pass  # not importable by name (e.g. exec'd code): pickled by value anyway
    return _pickler


def dumps(obj) -> bytes:
    return dumps_split(obj, out_of_band=False)[0]


# -- payloads: (data, buffers) as serialized here, or (None, value) -------------------
#
# Task arguments and results travel inside a message that the executor pickles
# anyway (loky, MPI). Numbers, strings, bytes and None need no capture (they
# cannot change) and no second pickling: such a value travels as (None, value)
# and costs the workflow and the worker one dumps and one loads less.

def _atoms(items) -> bool:
    for item in items:
        if type(item) not in _ATOMS:
            return False
    return True


def call_payload(args: tuple, kwargs: dict) -> tuple:
    """A task's (args, kwargs) as a payload: inline when every value is an atom."""
    if _atoms(args) and (not kwargs or _atoms(kwargs.values())):
        return None, (args, kwargs)
    return dumps_split((args, kwargs))


def value_payload(value, out_of_band: bool = True) -> tuple:
    """A task's result as a payload: inline when it is an atom."""
    if type(value) in _ATOMS:
        return None, value
    return dumps_split(value, out_of_band=out_of_band)


def load(payload):
    """The value of a payload."""
    data, rest = payload
    return rest if data is None else loads(data, rest)


def serialized(payload) -> tuple[bytes, list]:
    """A payload as (bytes, buffers), whichever way it travels (checkpoint records and
    keys are made of these bytes: an inline value gives the bytes dumps_split gives it)."""
    data, rest = payload
    return dumps_split(rest) if data is None else payload


def dumps_split(obj, out_of_band: bool = True) -> tuple[bytes, list]:
    """(payload, buffers): large buffers (numpy arrays) stay out of the payload.

    The buffers are views of the objects' memory, not copies: whoever sends
    them (loky, MPI) copies them once on the way, where an in-band pickle
    would copy them into the payload first.
    """
    buffers: list = []
    if _plain(obj):  # no code or classes of the program: the C pickler is enough
        return _PLAIN + pickle.dumps(obj, protocol=PROTOCOL), buffers
    try:
        stream = io.BytesIO()
        stream.write(_CLOUD)
        callback = buffers.append if out_of_band else None
        _pickler_class()(stream, protocol=PROTOCOL, buffer_callback=callback).dump(obj)
        return stream.getvalue(), buffers
    except Exception as first:
        try:
            import dill

            return _DILL + dill.dumps(obj, protocol=PROTOCOL, recurse=True), []
        except Exception:
            raise first from None


def loads(data: bytes, buffers=()):
    tag, body = data[:1], memoryview(data)[1:]
    if tag == _CLOUD or tag == _PLAIN:
        return pickle.loads(body, buffers=buffers)
    if tag == _DILL:
        import dill

        return dill.loads(body)
    raise ValueError(f"not an autofuture payload (tag {tag!r})")


def register_by_value(module) -> None:
    """Functions of a marked module travel by value: workers never import it."""
    if module.__name__ != "__main__":
        _by_value_pending.append(module)
