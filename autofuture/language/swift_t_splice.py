"""Python expressions of an exported script as text over spliced literals (Swift/T export).

``language/swift_t.py`` turns statements into Swift/T; an expression becomes
Python text in which every name of a value is a *splice*: the Swift/T
variable holding that value's literal, concatenated in at run time. Task
calls inside are hoisted into statements first (their results become
splices), and what cannot run faithfully on a Swift/T worker is refused here
(see the AF5xx codes in ``swift_t``'s docstring): names without a value,
local calls that may have effects, task calls that Python might skip.
F-strings are rewritten as ``''.join([...])`` because a spliced literal's
quotes could end the f-string (before Python 3.12).
"""

from __future__ import annotations

import ast
import builtins
from typing import Any

from .swift_t_text import swift_string

PURE_BUILTINS = frozenset(
    "abs all any ascii bin bool chr complex dict divmod enumerate filter float format "
    "frozenset hex int isinstance len list map max min oct ord pow range repr reversed "
    "round set slice sorted str sum tuple zip".split())
PURE_MODULES = frozenset(
    "math cmath statistics operator string itertools functools fractions decimal re "
    "textwrap json collections heapq bisect".split())
MUTATORS = frozenset(
    "append extend insert pop remove clear update add discard sort reverse setdefault "
    "popitem write writelines send close".split())
CONSTRUCTS = {
    ast.Try: "try", ast.With: "with", ast.AsyncWith: "async with", ast.While: "while",
    ast.ClassDef: "class", ast.AsyncFor: "async for", ast.Delete: "del",
    ast.Global: "global", ast.Nonlocal: "nonlocal", ast.Raise: "raise", ast.Assert: "assert",
    ast.Return: "return", ast.Break: "break", ast.Continue: "continue",
    ast.AugAssign: "augmented assignment", ast.Lambda: "lambda", ast.Await: "await",
    ast.Yield: "yield", ast.YieldFrom: "yield from", ast.NamedExpr: "walrus (:=)",
}
if hasattr(ast, "Match"):
    CONSTRUCTS[ast.Match] = "match"
if hasattr(ast, "TryStar"):
    CONSTRUCTS[ast.TryStar] = "try"
_WHY = {
    "try": "Swift/T has no exception handling: a failing task ends the run",
    "with": "a context manager's __enter__/__exit__ are effects in the workflow process",
    "while": "a loop whose end depends on values is not a dataflow loop: use for",
    "class": "objects cannot cross to Swift/T as literals: define the class in a module "
             "the tasks import",
    "raise": "Swift/T has no exceptions: raise inside a task",
    "assert": "move the check into a task",
    "lambda": "define a function with def",
    "break": "a Swift/T foreach has no early exit", "continue": "use if inside the loop",
    "match": "use if/elif on the value",
}


class Refused(Exception):
    """One construct that cannot be exported, at its node."""

    def __init__(self, node: ast.AST, code: str, message: str):
        super().__init__(message)
        self.node, self.code, self.message = node, code, message


class Splicer(ast.NodeTransformer):
    """Replaces names of values by splices, hoisting task calls; refuses the rest."""

    def __init__(self, translator: Any, block: Any, splices: list[str],
                 top_call: bool):
        self.t, self.block, self.splices = translator, block, splices
        self.top_call = top_call  # the node itself is a task call being translated
        self.local: list[set[str]] = []  # names bound by enclosing comprehensions

    def _splice(self, swift: str) -> ast.Name:
        self.splices.append(swift)
        return ast.Name(f"{self.t.marker}_{len(self.splices) - 1}__", ast.Load())

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        """Non-ASCII text as an escaped literal: the Swift/T source stays ASCII."""
        if isinstance(node.value, str) and not node.value.isascii():
            return self._splice(swift_string(ascii(node.value)))
        return node

    def _is_local(self, name: str) -> bool:
        return any(name in scope for scope in self.local)

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if type(node) in CONSTRUCTS:
            raise construct(node)
        return super().generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        name = node.id
        if self._is_local(name):
            return node
        if name in self.block.names:
            return self._splice(self.block.names[name])
        if name in self.block.one_arm:
            raise Refused(node, "AF504",
                          f"{name!r} is bound in only one arm of the if at line "
                          f"{self.block.one_arm[name]}; Swift/T needs it bound in every arm "
                          "to read it after the if")
        if name in self.t.tasks:
            raise Refused(node, "AF504", f"the function {name} is used as a value; only calls "
                                         "of task functions can be exported")
        if name in self.t.modules:
            module = self.t.modules[name]
            if "." in module and module.partition(".")[0] in PURE_MODULES:
                return node  # from math import sqrt, pi
            raise Refused(node, "AF504", f"the module {name} is used as a value; only its "
                                         "pure functions and constants can be exported")
        if name == "_af_rt" or name in PURE_BUILTINS or name in (
                "True", "False", "None"):
            return node
        if hasattr(builtins, name):
            raise Refused(node, "AF502", f"{name} is a built-in with effects or state; "
                                         "call it inside a task")
        raise Refused(node, "AF504", f"{name!r} has no value here")

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if is_task_call(node, self.t.tasks, self.block) and not self._is_local(node.func.id):
            if self.top_call:
                self.top_call = False
                node.args = [self.visit(a) for a in node.args]
                node.keywords = [self.visit(k) for k in node.keywords]
                return node
            if self.local:
                raise Refused(node, "AF501", "a task call inside a comprehension that also "
                                             "reads the comprehension's own names in its "
                                             "conditions cannot be exported")
            return self._splice(self.t.task_call(node, self.block))
        self._check_local_call(node)
        return self.generic_visit(node)

    def _check_local_call(self, node: ast.Call) -> None:
        func = node.func
        if type(func) in CONSTRUCTS:
            raise construct(func)
        if isinstance(func, ast.Name):
            if func.id == "print":
                raise Refused(node, "AF502", "print() inside an expression cannot be "
                                             "exported: make it a statement of its own")
            if func.id in self.t.modules:
                module = self.t.modules[func.id].partition(".")[0]
                if module not in PURE_MODULES:
                    raise Refused(node, "AF502", f"{func.id}() is a function of {module}, "
                                                 "which may have effects: call it in a task")
            return  # builtins and others are judged by visit_Name
        if isinstance(func, ast.Attribute):
            root = self._module_root(func)
            if root is not None:
                module = self.t.modules[root].partition(".")[0]
                if module not in PURE_MODULES:
                    raise Refused(node, "AF502", f"{ast.unparse(func)}() may have effects: "
                                                 "call it in a task")
                return
            if func.attr in MUTATORS:
                raise Refused(node, "AF502", f".{func.attr}() mutates a value, which Swift/T "
                                             "values cannot be: build a new value instead")
            return
        raise Refused(node, "AF502", f"{ast.unparse(func)} is called here and may have "
                                     "effects: call it in a task")

    def _module_root(self, node: ast.Attribute) -> str | None:
        """The import name at the root of ``mod.sub.attr``, or None for a value's attribute."""
        root = node.value
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name) and root.id in self.t.modules \
                and not self._is_local(root.id) and root.id not in self.block.names:
            return root.id
        return None

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        root = self._module_root(node)
        if root is None:
            return self.generic_visit(node)
        if self.t.modules[root].partition(".")[0] not in PURE_MODULES:
            raise Refused(node, "AF502",
                          f"{ast.unparse(node)} is state of the workflow's process, which a "
                          "Swift/T worker does not share: read it in a task")
        return node  # math.pi, math.sqrt: the module exists on the worker

    def _comprehension(self, node: ast.AST) -> ast.AST:
        if is_task_call_inside(node, self.t.tasks, self.block):
            if self.local:
                raise Refused(node, "AF501", "a comprehension with task calls inside another "
                                             "comprehension's condition cannot be exported")
            return self._splice(self.t.comprehension(node, self.block))
        scope: set[str] = set()
        self.local.append(scope)
        try:
            for generator in node.generators:
                generator.iter = self.visit(generator.iter)
                for target in ast.walk(generator.target):
                    if isinstance(target, ast.Name):
                        scope.add(target.id)
                generator.ifs = [self.visit(test) for test in generator.ifs]
            for field in ("elt", "key", "value"):
                if hasattr(node, field):
                    setattr(node, field, self.visit(getattr(node, field)))
        finally:
            self.local.pop()
        return node

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def _lazy(self, node: ast.AST) -> ast.AST:
        if is_task_call_inside(node, self.t.tasks, self.block):
            raise Refused(node, "AF505", "a task call inside and/or or a conditional "
                                         "expression would run under Swift/T even where "
                                         "Python skips it: use an if statement")
        return self.generic_visit(node)

    visit_BoolOp = visit_IfExp = _lazy

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        """An f-string as ``''.join([...])``: a spliced literal's quotes could end it."""
        parts: list[ast.expr] = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                inner = value.value
                if value.conversion != -1:
                    inner = ast.Call(ast.Name({115: "str", 114: "repr", 97: "ascii"}[
                        value.conversion], ast.Load()), [inner], [])
                spec = value.format_spec if value.format_spec is not None \
                    else ast.Constant("")
                parts.append(ast.Call(ast.Name("format", ast.Load()), [inner, spec], []))
            else:
                parts.append(value)
        joined = ast.Call(ast.Attribute(ast.Constant(""), "join", ast.Load()),
                          [ast.List(parts, ast.Load())], [])
        return self.visit(joined)


def construct(node: ast.AST) -> Refused:
    what = CONSTRUCTS[type(node)]
    why = _WHY.get(what)
    return Refused(node, "AF501", f"{what} cannot be exported to Swift/T" +
                   (f": {why}" if why else ""))


def is_task_call(node: ast.AST, tasks: set[str], block: Any) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
        and node.func.id in tasks and node.func.id not in block.names


def is_task_call_inside(node: ast.AST, tasks: set[str], block: Any) -> bool:
    return any(is_task_call(n, tasks, block) for n in ast.walk(node))


def is_literal(value: object) -> bool:
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    return isinstance(value, (int, str, bool, type(None)))


def is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) \
        and isinstance(stmt.value.value, str)


def is_main_test(test: ast.expr) -> bool:
    return isinstance(test, ast.Compare) and len(test.ops) == 1 \
        and isinstance(test.ops[0], ast.Eq) and isinstance(test.left, ast.Name) \
        and test.left.id == "__name__" and isinstance(test.comparators[0], ast.Constant) \
        and test.comparators[0].value == "__main__"


def bound_in_arm(arm: list[ast.stmt]) -> set[str]:
    """Names an ``if`` arm binds for the code after the ``if`` (not those of its loops)."""
    names: set[str] = set()
    for stmt in arm:
        targets: list[ast.expr] = []
        if isinstance(stmt, ast.Assign):
            targets = stmt.targets
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets = [stmt.target]
        elif isinstance(stmt, ast.If) and not is_main_test(stmt.test):
            names |= bound_in_arm(stmt.body) & bound_in_arm(stmt.orelse)
        for target in targets:
            names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    names.discard("_")
    return names
