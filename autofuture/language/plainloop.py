"""A loop body twice: as Python wrote it, and rewritten (the driver's fast path).

While no ``autofuture.Future`` has ever been made in the process, no value a
loop's body can read is a future and nothing is pending in the program-order
log, so every rewritten operation takes its fast path and does exactly what
Python does. The body as written then runs instead, chosen at the start of
each iteration by ``__af__.FUTURES_MADE``, except for its calls: a call that may
be a task or a workflow (the callee is known only when it runs) goes through
the runtime, its value waited for and everything pending committed at once
(``__af__.now``): no future reaches the plain body, output stays in program
order, and a task keeps its inputs captured by value.
Only bodies made of simple statements whose calls name their callee
(``f(x)``, ``obj.m(x)``) are cloned; anything else is rewritten only.
"""

from __future__ import annotations

import ast
import copy

from .nodes import RUNTIME, at, name_node, runtime_call

_STATEMENTS = (ast.Expr, ast.Assign, ast.If, ast.Pass, ast.Break, ast.Continue)
_EXCLUDED = (ast.Lambda, ast.NamedExpr, ast.Yield, ast.YieldFrom, ast.Await, ast.ListComp,
             ast.SetComp, ast.DictComp, ast.GeneratorExp)


def eligible(body: list[ast.stmt]) -> bool:
    """Simple statements, no scope of their own, calls of a name or of ``name.attr``."""
    for stmt in body:
        if not isinstance(stmt, _STATEMENTS):
            return False
        for node in ast.walk(stmt):
            if isinstance(node, ast.stmt) and not isinstance(node, _STATEMENTS):
                return False
            if isinstance(node, _EXCLUDED):
                return False
            if isinstance(node, ast.Call):
                func = node.func
                if not (isinstance(func, ast.Name) or isinstance(func, ast.Attribute)
                        and isinstance(func.value, ast.Name)):
                    return False
    return True


def _attr(name: str) -> ast.Attribute:
    return ast.Attribute(value=name_node(RUNTIME), attr=name, ctx=ast.Load())


class _Calls(ast.NodeTransformer):
    """Each call of the plain body: as written when the callee cannot be a task
    (a builtin function, a method of a builtin type's object), else through the
    runtime, its value waited for and everything pending committed."""

    def __init__(self, rewrite_call):
        self.rewrite_call = rewrite_call

    def visit_Call(self, node: ast.Call):
        rewritten = at(runtime_call("now", [self.rewrite_call(copy.deepcopy(node))]), node)
        self.generic_visit(node)  # calls in its arguments
        func = node.func
        if isinstance(func, ast.Name):
            test = ast.Compare(left=runtime_call("typeof", [name_node(func.id)]),
                               ops=[ast.Is()], comparators=[_attr("BUILTIN")])
        else:
            test = ast.Compare(left=runtime_call("typeof", [name_node(func.value.id)]),
                               ops=[ast.In()], comparators=[_attr("PLAIN_RECEIVERS")])
        return at(ast.IfExp(test=test, body=node, orelse=rewritten), node)


def versioned(body: list[ast.stmt], rewritten: list[ast.stmt], rewrite_call) -> list[ast.stmt]:
    """``if not __af__.FUTURES_MADE: <body as written> else: <rewritten>`` (see the module's
    docstring)."""
    plain = [_Calls(rewrite_call).visit(copy.deepcopy(stmt)) for stmt in body]
    test = at(ast.UnaryOp(op=ast.Not(), operand=_attr("FUTURES_MADE")), body[0])
    return [at(ast.If(test=test, body=plain, orelse=rewritten), body[0])]
