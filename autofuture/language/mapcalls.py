"""Which list comprehensions may run as maps (``runtime/maps.py``), and their rewrite.

``[f(a, b) for x in xs]``: one generator without ``if``, a plain name as its
target, and as its element a call of a name whose arguments are names and
constants. Evaluating such an element runs no code before the call, so the
runtime may gather consecutive elements into one log entry once it sees that
``f`` is a task; whether it does is decided there, element by element.
"""

from __future__ import annotations

import ast

from .nodes import RUNTIME


def mappable(node: ast.ListComp, frame_builtins: frozenset) -> bool:
    """Is this (original) comprehension a map of one call per element?"""
    if len(node.generators) != 1:
        return False
    gen = node.generators[0]
    call = node.elt
    return (not gen.ifs and not gen.is_async and isinstance(gen.target, ast.Name)
            and isinstance(call, ast.Call) and not call.keywords
            and isinstance(call.func, ast.Name) and call.func.id not in frame_builtins
            and all(isinstance(arg, ast.Name | ast.Constant) for arg in call.args))


def as_map(rewritten: ast.ListComp) -> ast.ListComp:
    """``[__af__.call(f, …) for x in __af__.iterate(xs)]`` as
    ``[__af__.each(f, …) for x in __af__.mapping(xs)]``; anything else unchanged."""
    call, iterable = rewritten.elt, rewritten.generators[0].iter
    if _runtime_call(call, "call") and _runtime_call(iterable, "iterate") \
            and len(iterable.args) == 1 and not iterable.keywords:
        call.func.attr = "each"
        iterable.func.attr = "mapping"
    return rewritten


def _runtime_call(node, name: str) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == name and isinstance(node.func.value, ast.Name)
            and node.func.value.id == RUNTIME)
