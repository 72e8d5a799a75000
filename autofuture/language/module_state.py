"""Task functions that change module-level state (AF303, AF304): a pure function of the tree.

A task runs on a worker, against the worker's copy of the module's globals:
``LOG.append(x)``, ``CACHE[k] = v``, ``STATE.count += 1`` or a ``global``
assignment there change that copy only, so the plain run sees the change
and the futurized run does not. ``_check`` reports each such place with
the rest of the load-time findings; ``pipeline`` hands the same findings
to the rewriter, and the run warns once per function, at its first call as
a task (``runtime/callees.py``, ``warn_first_call``).

Only what is provably the module's own state is reported: the root of the
changed expression (``LOG`` of ``LOG.items[0].append``) must be a name the
module binds at its top level by other means than an import, and no scope
between the change and the module (the task function, a function or lambda
nested in it) may bind that name itself, unless it declares it ``global``.
A changing method is one of the standard containers' (``append``,
``update``, ``add``, ...); other method calls may or may not change their
object, and are not guessed at.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from .._errors import Problem
from .astwalk import FUNCTIONS, local_names, span, walk_own

#: Methods that change the list, dict, set, deque or bytearray they are called on.
MUTATING_METHODS = frozenset({
    "append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse",  # list
    "update", "setdefault", "popitem",  # dict
    "add", "discard", "difference_update", "intersection_update",  # set
    "symmetric_difference_update",
    "appendleft", "extendleft", "popleft", "rotate",  # collections.deque
    "__setitem__", "__delitem__", "__iadd__",
})



def module_names(tree: ast.Module) -> frozenset[str]:
    """Names the module's top level binds other than by import: its own state."""
    names: set[str] = set()
    for node in walk_own(tree.body):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (*FUNCTIONS, ast.ClassDef)):
            names.add(node.name)
    return frozenset(names)


def findings(func: ast.FunctionDef, own: frozenset[str], filename: str) -> list[Problem]:
    """AF303 for each ``global`` statement of a task function, AF304 for each change of
    the module's state; each carries the function's first line as its ``scope``."""
    first = min([func.lineno, *(dec.lineno for dec in func.decorator_list)])
    found = []
    for node in ast.walk(func):
        if isinstance(node, ast.Global):
            names = ", ".join(node.names)
            found.append(Problem(
                "AF303", f"'{func.name}' declares 'global {names}', but as a task it runs on a "
                "worker, so its assignment never reaches the workflow. Return the value "
                "instead and bind it where the function is called, or mark "
                f"'{func.name}' with @autofuture.local to run it in the workflow process.",
                filename, *span(node), warning=True, scope=first))
    for node, root, what in _changes(func, func.body, _bound(func), own):
        found.append(Problem(
            "AF304", f"'{func.name}' changes the module-level '{root}' ({what}), but as a "
            "task it runs on a worker, so the change stays in that worker's copy and the "
            "workflow never sees it. Return the value instead and use it where "
            f"'{func.name}' is called, or mark '{func.name}' with @autofuture.local to run it "
            "in the workflow process.", filename, *span(node), warning=True, scope=first))
    return found


def _changes(scope: ast.AST, body, hidden: frozenset[str], own: frozenset[str]) -> Iterator:
    """(node, root name, what it does) of each change of module state in one scope."""
    augmented = set()  # targets of ``x.n += 1``, reported with their statement
    for node in walk_own(body):
        if id(node) in augmented:
            continue
        if isinstance(node, (*FUNCTIONS, ast.Lambda)) and node is not scope:
            inner = _bound(node)
            yield from _changes(node, [node.body] if isinstance(node, ast.Lambda) else node.body,
                                (hidden - _declared_global(node)) | inner, own)
            continue
        change = _change(node)
        if change is None:
            continue
        target, what = change
        if isinstance(node, ast.AugAssign):
            augmented.add(id(target))
        root = _root(target)
        if root is not None and root in own and root not in hidden:
            yield node, root, what


def _change(node: ast.AST):
    """(the changed expression, what is done to it), or None for anything else."""
    if isinstance(node, ast.AugAssign) and isinstance(node.target, (ast.Attribute, ast.Subscript)):
        shown = ast.AugAssign(target=node.target, op=node.op, value=ast.Name(id="..."))
        return node.target, ast.unparse(shown)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr in MUTATING_METHODS:
        return node.func.value, f"{ast.unparse(node.func)}(...)"
    if isinstance(node, (ast.Attribute, ast.Subscript)):
        if isinstance(node.ctx, ast.Store):
            return node, f"{ast.unparse(node)} = ..."
        if isinstance(node.ctx, ast.Del):
            return node, f"del {ast.unparse(node)}"
    return None


def _root(node: ast.expr) -> str | None:
    """``LOG`` of ``LOG.items[0]``: the name an attribute and item chain starts from."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _bound(func) -> frozenset[str]:
    """What hides a module name in a function's own scope: its names, less those it
    declares global."""
    return local_names(func) - _declared_global(func)


def _declared_global(func) -> frozenset[str]:
    if isinstance(func, ast.Lambda):
        return frozenset()
    return frozenset(name for node in walk_own(func.body) if isinstance(node, ast.Global)
                     for name in node.names)
