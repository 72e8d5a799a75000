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
(``f(x)``, ``obj.m(x)``, names the loop does not bind) are cloned, and the
as-written body is taken only when, looked at before the loop, no callee is a
task or a workflow; anything else is rewritten only.
"""

from __future__ import annotations

import ast
import copy

from .nodes import RUNTIME, at, name_node, runtime_call

_STATEMENTS = (ast.Expr, ast.Assign, ast.If, ast.Pass, ast.Break, ast.Continue)
_EXCLUDED = (ast.Lambda, ast.NamedExpr, ast.Yield, ast.YieldFrom, ast.Await, ast.ListComp,
             ast.SetComp, ast.DictComp, ast.GeneratorExp)


def eligible(body: list[ast.stmt], target: ast.expr) -> bool:
    """Simple statements, no scope of their own, calls of a name or of ``name.attr``
    where the loop binds neither name (so each can be looked at before the loop)."""
    bound = {node.id for part in (target, *body) for node in ast.walk(part)
             if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)}
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
                if isinstance(func, ast.Attribute):
                    func = func.value
                if not isinstance(func, ast.Name) or func.id in bound:
                    return False
    return True


def _callees(body: list[ast.stmt]) -> list[tuple[str, str]]:
    """``(name, "")`` for each ``name(...)``, ``(name, attr)`` for each ``name.attr(...)``."""
    found: list[tuple[str, str]] = []
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Call):
                func = node.func
                spec = (func.id, "") if isinstance(func, ast.Name) else (func.value.id, func.attr)
                if spec not in found:
                    found.append(spec)
    return found


def _attr(name: str) -> ast.Attribute:
    """``__af__.name``, on the first line of what it is located at (see ``nodes.at``)."""
    runtime = name_node(RUNTIME)
    attr = ast.Attribute(value=runtime, attr=name, ctx=ast.Load())
    runtime._af_head = attr._af_head = True
    return attr


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


def versioned(node: ast.For, rewritten: list[ast.stmt], rewrite_call,
              temp) -> tuple[list[ast.stmt], list[ast.stmt]]:
    """Statements before the loop and its new body: ``if not __af__.FUTURES_MADE and
    <no callee is a task>: <body as written> else: <rewritten>`` (see the module's
    docstring). Whether a callee is a task is looked at once, before the loop
    (``__af__.local_calls``): a body whose call would make a task is rewritten from
    its first iteration, instead of waiting for that task as written."""
    body = node.body
    plain = [_Calls(rewrite_call).visit(copy.deepcopy(stmt)) for stmt in body]
    test = ast.UnaryOp(op=ast.Not(), operand=_attr("FUTURES_MADE"))
    before: list[ast.stmt] = []
    specs = _callees(body)
    if specs:
        temp = temp()  # a name of the rewriter's own, for the loop's answer
        names = ast.Tuple(elts=[name_node(name) for name, _ in specs], ctx=ast.Load())
        attrs = ast.Constant(value=tuple(attr for _, attr in specs))
        check = runtime_call("local_calls", [names, attrs])
        answer = ast.Try(  # a name bound only later: the rewritten body says what it is
            body=[ast.Assign(targets=[name_node(temp, ast.Store())], value=check)],
            handlers=[ast.ExceptHandler(
                type=_attr("NAME_ERROR"), name=None,
                body=[ast.Assign(targets=[name_node(temp, ast.Store())],
                                 value=ast.Constant(value=False))])],
            orelse=[], finalbody=[])
        before.append(at(answer, node))
        test = ast.BoolOp(op=ast.And(), values=[test, name_node(temp)])
    return before, [at(ast.If(test=at(test, body[0]), body=plain, orelse=rewritten), body[0])]
