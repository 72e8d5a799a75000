"""What a marked module defines, read once before the checks.

Which top-level functions are tasks or workflows (under whatever names
``autofuture`` was imported as), which promise a fixed return arity
(``-> tuple[int, int]``, a ``NamedTuple``), and which task functions call
other task functions of the module. A pure function of the parsed tree.
"""

from __future__ import annotations

import ast

from .astwalk import local_names, toplevel_statements, walk_own

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


class Definitions:
    """The module's task, workflow and arity facts, for the checker."""

    def __init__(self, tree: ast.Module):
        self.modules = {"autofuture"}  # names of the autofuture module
        self.direct: dict[str, set[str]] = {"workflow": set(), "task": set(), "local": set()}
        self.typing = {"typing"}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "autofuture":
                        self.modules.add(alias.asname or alias.name)
                    elif alias.name == "typing":
                        self.typing.add(alias.asname or alias.name)
            elif isinstance(node, ast.ImportFrom) and node.module == "autofuture":
                for alias in node.names:
                    if alias.name in self.direct:
                        self.direct[alias.name].add(alias.asname or alias.name)
        self._index_module(tree)

    def _index_module(self, tree: ast.Module) -> None:
        """Top-level functions: their fixed return arities and task-in-task calls."""
        defs: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        self.namedtuples: dict[str, int] = {}
        for stmt in toplevel_statements(tree.body):
            if isinstance(stmt, _FUNCTIONS):
                defs.setdefault(stmt.name, []).append(stmt)
            else:
                self._index_namedtuple(stmt)
        self.arity: dict[str, tuple[int, str, int]] = {}
        for name, found in defs.items():
            fixed = self.fixed_arity(found[0].returns) if len(found) == 1 else None
            if fixed is not None:
                self.arity[name] = (fixed, ast.unparse(found[0].returns), found[0].lineno)
        tasks = {
            name: found for name, found in defs.items() if all(map(self.is_task, found))
        }
        # name -> (the other module function it calls, that call's line); warned once
        self.nesting: dict[str, tuple[str, int]] = {}
        for name, found in tasks.items():
            for func in found:
                shadowed = local_names(func)
                for node in walk_own(func.body):
                    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                            and node.func.id in tasks and node.func.id != name \
                            and node.func.id not in shadowed:
                        self.nesting.setdefault(name, (node.func.id, node.lineno))

    def _index_namedtuple(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.ClassDef) and any(map(self.is_namedtuple, stmt.bases)):
            fields = [s for s in stmt.body
                      if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
            self.namedtuples[stmt.name] = len(fields)
        elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], ast.Name) and isinstance(stmt.value, ast.Call) \
                and self.is_namedtuple(stmt.value.func) and len(stmt.value.args) == 2 \
                and isinstance(stmt.value.args[1], (ast.List, ast.Tuple)):
            # P = NamedTuple("P", [("x", int), ("y", int)])
            self.namedtuples[stmt.targets[0].id] = len(stmt.value.args[1].elts)

    def is_namedtuple(self, node: ast.expr) -> bool:
        return self.is_typing(node, "NamedTuple")

    def is_typing(self, node: ast.expr, name: str) -> bool:
        if isinstance(node, ast.Name):
            return node.id == name
        return isinstance(node, ast.Attribute) and node.attr == name \
            and isinstance(node.value, ast.Name) and node.value.id in self.typing

    def fixed_arity(self, annotation: ast.expr | None) -> int | None:
        """The length a return annotation promises, or None when it promises none."""
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                annotation = ast.parse(annotation.value, mode="eval").body
            except SyntaxError:
                return None
        if isinstance(annotation, ast.Name) and annotation.id in self.namedtuples:
            return self.namedtuples[annotation.id]
        if isinstance(annotation, ast.Subscript) and (
            self.is_typing(annotation.value, "Tuple") or self.is_typing(annotation.value, "tuple")
        ):
            items = annotation.slice
            elts = items.elts if isinstance(items, ast.Tuple) else [items]
            if any(isinstance(e, ast.Constant) and e.value is Ellipsis for e in elts):
                return None  # tuple[int, ...]
            return len(elts)
        return None

    def is_autofuture(self, dec: ast.expr, what: str, calls: bool = False) -> bool:
        """Whether a decorator is ``autofuture.<what>`` under any name it was imported as."""
        if calls and isinstance(dec, ast.Call):
            dec = dec.func
        if isinstance(dec, ast.Name):
            return dec.id in self.direct[what]
        return isinstance(dec, ast.Attribute) and dec.attr == what \
            and isinstance(dec.value, ast.Name) and dec.value.id in self.modules

    def is_workflow(self, func: ast.AST) -> bool:
        # Only plain ``def``s, as the rewriter futurizes only those.
        return isinstance(func, ast.FunctionDef) \
            and any(self.is_autofuture(dec, "workflow") for dec in func.decorator_list)

    def is_task(self, func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        """A plain function that a call from futurized code submits as a task.

        Other decorators may return anything, so their functions are left out
        rather than guessed at; so are generators and coroutines.
        """
        if not isinstance(func, ast.FunctionDef):
            return False
        if any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in walk_own(func.body)):
            return False
        return all(self.is_autofuture(dec, "task", calls=True) for dec in func.decorator_list)
