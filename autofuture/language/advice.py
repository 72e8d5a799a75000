"""AF302's advice for a generator expression passed as an argument (``language.check``).

A generator with calls in it is consumed one element at a time, so its calls
run one after another. A list comprehension would run them in parallel, but
it is advised only where it is *equivalent*: a builtin that takes every
element of the one iterable it is given (``sum``, ``sorted``, ``str.join``,
...). ``any``, ``all`` and ``next`` stop at the element that decides, so a list
would make calls the plain run never makes (and ``next([...])`` is a
TypeError): nothing is said about them. Elsewhere the message says what a
list would change, and leaves the choice to the user. A pure function of the tree.
"""

from __future__ import annotations

import ast

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)

#: Builtins that take every element of the one iterable they are given before they
#: return, and keep nothing of it: a list of the same elements gives the same result.
WHOLE_CONSUMERS = frozenset({"sum", "min", "max", "sorted", "list", "tuple", "set",
                             "frozenset", "dict"})
#: Builtins that stop at the first element that decides: a list would compute the rest.
SHORT_CIRCUIT = frozenset({"any", "all", "next"})


def bound_anywhere(tree: ast.Module) -> set[str]:
    """Every name the module binds somewhere (any scope): such a name may shadow a builtin."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).partition(".")[0] for a in node.names)
    return names


def generator_advice(call: ast.Call, generator: ast.GeneratorExp,
                     bound: set[str]) -> str | None:
    """The end of AF302's message for ``generator``, an argument of ``call``; None when
    it is right as it is. ``bound``: the module's names (``bound_anywhere``)."""
    func = call.func
    name = func.id if isinstance(func, ast.Name) and func.id not in bound else None
    if name in SHORT_CIRCUIT:
        return None
    args = call.args
    whole = (name in WHOLE_CONSUMERS and bool(args) and args[0] is generator
             and len(args) <= (2 if name == "sum" else 1)
             and not any(isinstance(arg, ast.Starred) for arg in args)
             and not any(k.arg is None for k in call.keywords))
    if not whole and isinstance(func, ast.Attribute) and func.attr == "join" \
            and isinstance(func.value, ast.Constant) and isinstance(func.value.value, str) \
            and call.args == [generator] and not call.keywords:
        whole = True
    callee = ast.unparse(func)
    if whole:
        return (f"; pass a list comprehension instead, such as {callee}([...]): "
                f"{callee}() takes every element, so it gets the same ones, computed in "
                f"parallel (only if {callee}() fails partway will the later elements' "
                "calls have run too).")
    return (". A list comprehension in its place would compute every element first, in "
            f"parallel: the same if {callee}() takes every element, but if it may stop "
            "early or keeps the generator, calls the plain run never makes would run, "
            "with their output and errors.")
