"""A task function's payload: serialized once while nothing it is made of changes.

A function of a marked module travels by value, with the module globals,
defaults and closure cells its code reads as of the call (SPEC §4), so in
general it must be serialized again for every message (~50 µs for a
one-line function, and as long again for a worker to load it). When every
one of those objects is immutable, or travels by reference (a library
module, function or class), the same objects make the same payload: the
workflow keeps the payload, keyed by a token, for as long as each object
is still the one it was (checked by identity, a few microseconds), and a
worker keeps the function it loaded under that token (``worker.runner``).

Every message still carries the payload with its token, so any worker can
load it: a fresh one after a lost worker, a restarted loky worker, an MPI
rank. A function that writes a global or a closure cell, or reads anything
mutable (a list, a dict, a class of a marked module, an object), is never
kept: a worker must not carry one task's changes into the next.
"""

from __future__ import annotations

import dis
import itertools
import operator
import os
import sys
import types

from ..worker import serialize
from .callees import MARKER, _global_names, marked_files

#: Types whose instances cannot change and hold nothing that can.
_ATOMS = frozenset({int, float, complex, bool, str, bytes, type(None), range, slice,
                    type(Ellipsis), type(NotImplemented)})
_ABSENT = object()  # a global name the function reads that is not bound (a builtin)
_WRITES = frozenset({"STORE_GLOBAL", "DELETE_GLOBAL"})
_CELL_WRITES = frozenset({"STORE_DEREF", "DELETE_DEREF"})

_tokens = itertools.count(1)
#: Tokens of one workflow process differ from another's (a foreign executor's
#: workers may serve several workflows).
_origin = os.urandom(8).hex()

_writers: dict[int, tuple[types.CodeType, bool]] = {}  # by id: see _dispatch._code_kinds


_generations: dict[int, object] = {}


def _marked_generation() -> object:
    """One object per number of marked files, so that parts compare by identity alone."""
    count = len(marked_files)
    generation = _generations.get(count)
    if generation is None:
        generation = _generations[count] = object()
    return generation


def _writes_outside(code: types.CodeType) -> bool:
    """Does this code (or code nested in it) rebind a global or a closure cell?"""
    known = _writers.get(id(code))
    if known is not None and known[0] is code:
        return known[1]
    writes = False
    for instruction in dis.get_instructions(code):
        name = instruction.opname
        if name in _WRITES or (name in _CELL_WRITES and instruction.argval in code.co_freevars):
            writes = True
            break
    if not writes:
        writes = any(_writes_outside(const) for const in code.co_consts
                     if isinstance(const, types.CodeType))
    _writers[id(code)] = (code, writes)
    return writes


def _by_reference(obj) -> bool:
    """A module, function or class that a worker imports by name (its state stays there)."""
    if isinstance(obj, types.ModuleType):
        name = obj.__name__
        return (name != "__main__" and sys.modules.get(name) is obj
                and getattr(obj, "__file__", None) not in marked_files)
    name = getattr(obj, "__module__", None)
    module = sys.modules.get(name) if isinstance(name, str) else None
    if module is None or name == "__main__" \
            or getattr(module, "__file__", None) in marked_files:
        return False
    found = module  # cloudpickle sends it by name only if the name finds it
    for part in str(getattr(obj, "__qualname__", "<")).split("."):
        found = getattr(found, part, None)
    return found is obj


def _stable(obj, depth: int = 0) -> bool:
    """Can nothing about ``obj`` change without ``obj`` itself being replaced?"""
    t = type(obj)
    if t in _ATOMS:
        return True
    if t is tuple or t is frozenset:
        return depth < 3 and len(obj) <= 64 and all(_stable(item, depth + 1) for item in obj)
    if t is types.BuiltinFunctionType:  # len, math.sqrt; not a bound method of an object
        owner = obj.__self__
        return owner is None or (isinstance(owner, types.ModuleType) and _by_reference(owner))
    if t is types.ModuleType or t is types.FunctionType or isinstance(obj, type):
        return _by_reference(obj)
    return False


def _travelling(fn):
    """``(function, the values of the globals it reads)`` for ``fn`` and each marked
    function it reads, each once: those travel by value with it."""
    seen: set[int] = set()
    stack = [fn]
    while stack:
        func = stack.pop()
        if id(func) in seen:
            continue
        seen.add(id(func))
        namespace = func.__globals__
        read = [namespace.get(name, _ABSENT) for name in _global_names(func.__code__)]
        yield func, read
        stack += (value for value in read if _marked_function(value))


def _marked_function(value) -> bool:
    return type(value) is types.FunctionType and value.__code__.co_filename in marked_files


def parts(fn) -> list | None:
    """The objects ``fn``'s payload is made of (compared by identity), or None when the
    function writes a global or a closure cell."""
    if type(fn) is not types.FunctionType:
        return None
    if fn.__code__.co_filename not in marked_files and _by_reference(fn):
        return [_marked_generation(), fn]  # sent by name: nothing it reads travels with it
    found: list = [_marked_generation()]  # a module marked later: its functions go by value
    for func, read in _travelling(fn):
        code = func.__code__
        if _writes_outside(code):
            return None
        found += (func, code, func.__name__, func.__qualname__, func.__module__,
                  func.__doc__, func.__defaults__)
        for mapping in (func.__kwdefaults__, func.__dict__, func.__annotations__):
            if mapping:
                found.append(len(mapping))
                for item in mapping.items():
                    found += item
        for cell in func.__closure__ or ():
            try:
                found.append(cell.cell_contents)
            except ValueError:  # not yet bound
                found.append(_ABSENT)
        found += read
    return found


def _stable_inputs(fn) -> bool:
    """Is every value ``fn`` (and the marked functions it reads) travels with immutable,
    or sent by reference?"""
    if fn.__code__.co_filename not in marked_files and _by_reference(fn):
        return True
    for func, read in _travelling(fn):
        values = list(func.__defaults__ or ())
        for mapping in (func.__kwdefaults__, func.__dict__, func.__annotations__):
            if mapping:
                values += (value for key, value in mapping.items() if key != MARKER)
        for cell in func.__closure__ or ():
            try:
                values.append(cell.cell_contents)
            except ValueError:
                pass
        values += (value for value in read
                   if value is not _ABSENT and not _marked_function(value))
        if not all(_stable(value) for value in values):
            return False
    return True


class FunctionPayloads:
    """The workflow's payloads of stable task functions, with their tokens."""

    LIMIT = 256

    def __init__(self):
        self._kept: dict = {}  # function -> (parts, token, payload)

    def get(self, fn) -> tuple:
        """(token, payload): token None when the payload must not be kept by a worker."""
        made = parts(fn)
        if made is None:
            return None, serialize.dumps(fn)
        kept = self._kept.get(fn)
        if kept is not None and len(kept[0]) == len(made) \
                and all(map(operator.is_, kept[0], made)):
            return kept[1], kept[2]
        payload = serialize.dumps(fn)
        if not _stable_inputs(fn):
            self._kept.pop(fn, None)
            return None, payload
        if len(self._kept) >= self.LIMIT:
            self._kept.clear()
        token = (_origin, next(_tokens))
        self._kept[fn] = (made, token, payload)
        return token, payload
