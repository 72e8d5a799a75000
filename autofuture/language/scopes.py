"""Bindings, loops and scopes of futurized code, and how two bindings relate.

A binding remembers the branch arms it sits in (its *path*); two bindings
of one name conflict unless, where their paths part, they sit in arms that
never both run (see ``check``'s docstring for the whole rule).
"""

from __future__ import annotations

import ast
import dataclasses

from .astwalk import TRY, Pos

# How two bindings relate, from where their branch paths part.
SEQUENTIAL = "sequential"  # both may run, one after the other: a conflict
EXCLUSIVE = "exclusive"  # never both run: no conflict, one never sees the other
PARTIAL = "partial"  # try body vs handler: allowed, yet the handler may see the body's
Path = tuple[tuple[ast.AST, object], ...]


@dataclasses.dataclass(eq=False)
class Binding:
    name: str
    kind: str  # assign, def, class, import, param, walrus, match, for, with, except,
    # comprehension (a comprehension's own target)
    pos: Pos
    path: Path
    depth: int  # how many loops of its scope enclose it
    origin: str | None = None  # for imports: the dotted object bound


@dataclasses.dataclass(eq=False)
class Loop:
    label: str  # "the for loop at line 3"
    bound: dict[str, Binding] = dataclasses.field(default_factory=dict)
    pending: list[ast.Name] = dataclasses.field(default_factory=list)  # unresolved reads


@dataclasses.dataclass(eq=False)
class Scope:
    """The module, or one workflow body: each binds its own names once."""

    local_names: frozenset[str] | None = None  # of a workflow body; None for the module
    # Layer 0 is the scope; each comprehension pushes one for its targets.
    layers: list[dict[str, list[Binding]]] = dataclasses.field(default_factory=lambda: [{}])
    dead: dict[str, tuple[Binding, str]] = dataclasses.field(default_factory=dict)
    loops: list[Loop] = dataclasses.field(default_factory=list)
    path: Path = ()


def relation(first: Path, second: Path) -> str:
    """How a binding at ``first`` relates to code at ``second`` (see the module docstring)."""
    for (node, arm), (other, other_arm) in zip(first, second, strict=False):
        if node is not other:
            return SEQUENTIAL
        if arm != other_arm:
            if not isinstance(node, TRY):
                return EXCLUSIVE  # if/else, conditional expression, match cases, or-patterns
            arms = {a if isinstance(a, str) else "handler" for a in (arm, other_arm)}
            if "finally" in arms or arms == {"body", "else"}:
                return SEQUENTIAL
            return PARTIAL if arms == {"body", "handler"} else EXCLUSIVE
    return SEQUENTIAL
