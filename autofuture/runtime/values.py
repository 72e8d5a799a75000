"""Futures inside values: finding them, and replacing them by their values.

Only lists, tuples, dicts and sets are looked into (SPEC §4); any other
object is a value as it is.
"""

from __future__ import annotations

import types

from . import current as _slot
from .future import Future
from .held import value_of

_ATOMS = frozenset({int, float, complex, bool, str, bytes, type(None), range, type,
                    type(len), type(print), types.ModuleType, slice, type(Ellipsis)})


_CONTAINERS = (list, tuple, set, frozenset, dict)
_MADE = _slot.futures_made


def atoms_only(items: tuple) -> bool:
    """A tuple of plain values only (``(key, 3)``): nothing in it can be a future."""
    for item in items:
        if type(item) not in _ATOMS:
            return False
    return True


def find_futures(obj, found: list) -> None:
    """Append every Future inside lists, tuples, dicts and sets of ``obj``."""
    if not _MADE:
        return  # no Future was ever made in this process: there is none to find
    t = type(obj)
    if t in _ATOMS:
        return
    if t is Future or isinstance(obj, Future):
        found.append(obj)
        return
    if not isinstance(obj, _CONTAINERS):
        return
    stack, seen = [obj], set()
    while stack:
        container = stack.pop()
        if id(container) in seen:
            continue
        seen.add(id(container))
        items = container.items() if isinstance(container, dict) else container
        for item in items:
            if isinstance(container, dict):
                key, item = item
                if isinstance(key, Future):
                    found.append(key)
                elif isinstance(key, tuple):
                    stack.append(key)
            t = type(item)
            if t in _ATOMS:
                continue
            if t is Future or isinstance(item, Future):
                found.append(item)
            elif isinstance(item, _CONTAINERS):
                stack.append(item)


def resolve(obj, seen: dict | None = None):
    """``obj`` with futures replaced by values: in place in lists and dicts, rebuilt otherwise."""
    if isinstance(obj, Future):
        return value_of(obj._af_value)
    t = type(obj)
    if t in _ATOMS:
        return obj
    if isinstance(obj, (list, dict, tuple, set, frozenset)):
        if seen is None:
            seen = {}
        if id(obj) in seen:
            return seen[id(obj)]
        seen[id(obj)] = obj
        if isinstance(obj, list):
            for i, item in enumerate(obj):
                new = resolve(item, seen)
                if new is not item:
                    obj[i] = new
            return obj
        if isinstance(obj, dict):
            for key, item in list(obj.items()):
                new = resolve(item, seen)
                if new is not item:
                    obj[key] = new
            return obj
        items = [resolve(item, seen) for item in obj]
        if all(a is b for a, b in zip(items, obj, strict=True)):
            return obj
        rebuilt = tuple(items) if t is tuple else (
            frozenset(items) if isinstance(obj, frozenset) else set(items))
        if t is tuple or t is set or t is frozenset:
            result = rebuilt
        else:  # a namedtuple or a subclass: rebuild with its own constructor
            try:
                result = t._make(items) if hasattr(t, "_make") else t(items)
            except Exception:
                result = rebuilt
        seen[id(obj)] = result
        return result
    return obj
