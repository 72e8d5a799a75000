"""Python's own unpacking and formatting, as functions a lazy read can run.

``runtime.abi`` runs them at once on values, or later on futures' values;
either way they behave as the plain run's statement, errors and all, and say
which part of the construct failed (``tracebacks.failed_at``) so the error is
reported there. Unpacking a list or a tuple runs no code of the program's:
they are registered as structural reads (``runahead.structural``).
"""

from __future__ import annotations

import types as _types

from . import runahead as _runahead
from . import tracebacks as _tb
from .future import Future

_unpackers: dict = {}


def unpacker(shape, level: int = 0):
    """A function that unpacks one level of ``shape`` exactly as Python does.

    ``level``: which of the target's tuples it is, counted depth first; an
    error of an inner one is reported at that tuple, as Python reports it
    (``tracebacks.refine``).
    """
    fn = _unpackers.get((shape, level))
    if fn is None:
        names = [f"*v{i}" if leaf == "*" else f"v{i}" for i, leaf in enumerate(shape)]
        target = ", ".join(names) + ("," if len(names) == 1 else "")
        result = ", ".join(f"v{i}" for i in range(len(shape))) + ("," if len(shape) == 1 else "")
        namespace: dict = {"failed_at": _tb.failed_at}
        source = (f"def unpack(value):\n    try:\n        {target} = value\n"
                  f"    except Exception as exc:\n        failed_at(exc, 'target', {level})\n"
                  f"        raise\n    return ({result})\n")
        # Compiled under this file's name so tracebacks drop it like our own frames.
        exec(compile(source, __file__, "exec"), namespace)
        fn = _unpackers[(shape, level)] = namespace["unpack"]
        _runahead.structural(fn)  # unpacking a list or tuple runs no code of the program
    return fn


def tuples(shape) -> int:
    """How many tuples a target shape has, itself included."""
    return 1 + sum(tuples(sub) for sub in shape if type(sub) is tuple)


def check_arity(future: Future):
    arity = future._af_arity
    label = future._af_label

    def check_arity(value):
        try:
            items = tuple(value)
        except TypeError:
            raise TypeError(
                f"cannot unpack non-iterable {type(value).__name__} object "
                f"(from {label})") from None
        if len(items) != arity:
            raise ValueError(
                f"{label} returned {len(items)} values, but its annotation promises {arity}")
        return items

    return check_arity


_runahead.structural(check_arity(_types.SimpleNamespace(_af_arity=0, _af_label="")).__code__)


def format_now(parts):
    """An f-string of plain values, now; an error is reported at its field."""
    try:
        return format_parts(*parts)
    except Exception as exc:  # noqa: BLE001 - reported at its field, as Python does
        _tb.here(exc)
        raise


def format_parts(*parts):
    """An f-string's text from its parts: strings, and (value, conversion, spec)."""
    out = []
    field = -1
    for part in parts:
        if type(part) is str:
            out.append(part)
            continue
        field += 1
        item, conversion, spec = part
        try:
            if conversion == 115:
                item = str(item)
            elif conversion == 114:
                item = repr(item)
            elif conversion == 97:
                item = ascii(item)
            out.append(format(item, spec or ""))
        except Exception as exc:
            _tb.failed_at(exc, "field", field)
            raise
    return "".join(out)
