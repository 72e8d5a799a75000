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
task or a workflow; anything else is rewritten only. A third copy, the body
exactly as written with no test before its calls, is taken while
``__af__.look``'s answer holds, before the first future and after it:
nothing pending, only C callees, no future among what the body reads
(docs/decisions.md), and, at each iteration, scalars in the loop's variables.
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


#: Builtins that reach objects the body's names do not hold (a frame's globals, an
#: object's class): a body that calls one runs as written only while no future exists.
_REFLECTIVE = frozenset({"getattr", "vars", "type", "globals", "locals", "eval", "exec",
                         "compile", "__import__", "dir", "super", "breakpoint"})


def _loop_variables(target: ast.expr) -> list[str] | None:
    """The names a ``for`` target binds, or None unless it is made of names only."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        names: list[str] = []
        for element in target.elts:
            inner = _loop_variables(element)
            if inner is None:
                return None
            names += inner
        return names
    return None


#: Methods of a list that read nothing of it into the body (they return None and run
#: no comparison): a list the body only calls these on needs no look inside.
_WRITE_ONLY = frozenset({"append", "extend", "insert"})


def _look_names(node: ast.For, specs) -> tuple[list, list, list, list] | None:
    """What ``__af__.look`` is given: (the loop's variables, the names the body reads,
    those read only as a call's receiver, those only appended to), or None if the
    body must run rewritten whenever a future may exist: a target not made of names,
    an attribute with a special name, or a call of a reflective builtin, each of
    which reaches what ``look`` cannot see."""
    variables = _loop_variables(node.target)
    if variables is None or any(name in _REFLECTIVE for name, attr in specs if not attr):
        return None
    loaded: list[str] = []
    methods: dict[str, set] = {}  # receiver name -> the methods called on it
    other: set[str] = set()  # names read otherwise
    receivers = set()
    for stmt in node.body:
        for sub in ast.walk(stmt):
            if isinstance(sub, ast.Attribute) and sub.attr.startswith("__"):
                return None
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) \
                    and isinstance(sub.func.value, ast.Name):
                methods.setdefault(sub.func.value.id, set()).add(sub.func.attr)
                receivers.add(id(sub.func.value))
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                if sub.id not in loaded and sub.id not in variables:
                    loaded.append(sub.id)
                if id(sub) not in receivers:
                    other.add(sub.id)
    only_receivers = sorted(name for name in methods if name not in other)
    writers = sorted(name for name in only_receivers if methods[name] <= _WRITE_ONLY)
    return variables, loaded, only_receivers, writers


def _counting(iterable: ast.expr) -> str | None:
    """``range`` for ``for i in range(...)`` (whose name ``look`` checks is the builtin)."""
    if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name) \
            and iterable.func.id == "range":
        return "range"
    return None


def versioned(node: ast.For, rewritten: list[ast.stmt], rewrite_call,
              temp) -> tuple[list[ast.stmt], list[ast.stmt]]:
    """Statements before the loop and its new body (see the module's docstring)::

        if <the look holds> and <the loop's variables hold scalars>: <body as written>
        elif not __af__.FUTURES_MADE and <no callee is a task>: <body, calls checked>
        else: <rewritten>

    Both looks are taken once, before the loop: ``__af__.local_calls`` at the
    callees (a body whose call would make a task is rewritten from its first
    iteration, instead of waiting for that task as written), ``__af__.look`` at
    what the body reads. While the second holds, the body runs only C code on
    values that hold no future: as written, with no test before its calls."""
    body = node.body
    specs = _callees(body)
    looking = _look_names(node, specs)
    checked = [_Calls(rewrite_call).visit(copy.deepcopy(stmt)) for stmt in body]
    test = ast.UnaryOp(op=ast.Not(), operand=_attr("FUTURES_MADE"))
    before: list[ast.stmt] = []
    answer_node: ast.expr = _attr("ONLY_C")
    if specs:
        answer_name = temp()  # a name of the rewriter's own, for the loop's answer
        names = ast.Tuple(elts=[name_node(name) for name, _ in specs], ctx=ast.Load())
        attrs = ast.Constant(value=tuple(attr for _, attr in specs))
        check = runtime_call("local_calls", [names, attrs])
        answer = ast.Try(  # a name bound only later: the rewritten body says what it is
            body=[ast.Assign(targets=[name_node(answer_name, ast.Store())], value=check)],
            handlers=[ast.ExceptHandler(
                type=_attr("NAME_ERROR"), name=None,
                body=[ast.Assign(targets=[name_node(answer_name, ast.Store())],
                                 value=ast.Constant(value=False))])],
            orelse=[], finalbody=[])
        before.append(at(answer, node))
        test = ast.BoolOp(op=ast.And(), values=[test, name_node(answer_name)])
        answer_node = name_node(answer_name)
    inner = at(ast.If(test=at(test, body[0]), body=checked, orelse=rewritten), body[0])
    if looking is None:
        return before, [inner]
    variables, loaded, receivers, writers = looking
    flag = temp()
    args = [answer_node, *(ast.Constant(value=tuple(names))
                           for names in (loaded, receivers, writers))]
    counting = _counting(node.iter)
    if counting is not None:  # the look checks it is Python's range: ints, no test each time
        args.append(name_node(counting))
    looked = runtime_call("look", args)
    before.append(at(ast.Assign(targets=[name_node(flag, ast.Store())], value=looked), node))
    scalars = [] if counting is not None else [
        ast.Compare(left=runtime_call("typeof", [name_node(name)]), ops=[ast.In()],
                    comparators=[_attr("SCALARS")]) for name in variables]
    looked_test = ast.BoolOp(op=ast.And(), values=[name_node(flag), *scalars]) \
        if scalars else name_node(flag)
    as_written = [copy.deepcopy(stmt) for stmt in body]
    return before, [at(ast.If(test=at(looked_test, body[0]), body=as_written, orelse=[inner]),
                       body[0])]
