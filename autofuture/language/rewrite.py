"""The rewriter: futurized code becomes calls into ``autofuture.runtime.abi``.

A pure function of the parsed, already checked module. Futurized code is the
module's top level and the bodies of ``@autofuture.workflow`` functions; the
bodies of other functions, lambdas and classes, and decorators, defaults,
annotations and class bases, are left as Python wrote them.

Every node built here takes the location of the node it stands for, so
tracebacks, ``co_positions`` and carets point at the user's code. The
generated calls read like the program (``autofuture show`` prints them):

    r = slow_square(i)        ->  r = __af__.call(slow_square, i)
    print(r.value + 1)        ->  __af__.call(print, __af__.op('+', __af__.getattr(r, 'value'), 1))
    if r > 3:                 ->  if __af__.value(__af__.op('>', r, 3)):
    a, *b = pair              ->  a, b = __af__.unpack(pair, (None, '*'))
"""

from __future__ import annotations

import ast
import copy

from . import mapcalls, plainloop
from .nodes import (
    OPERATIONS,
    RUNTIME,
    assert_anchor,
    at,
    const,
    constant,
    name_node,
    operand_names,
    runtime_call,
    simple_target,
    target_shape,
    unstarred,
)

#: Bumped whenever generated code changes, so cached rewrites are never reused.
SCHEMA = 19

RUNTIME_MODULE = "autofuture.runtime.abi"

BINOPS = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.MatMult: "@", ast.Div: "/",
    ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&",
}
UNARYOPS = {ast.UAdd: "u+", ast.USub: "u-", ast.Invert: "~", ast.Not: "not"}
CMPOPS = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
}

# Builtins whose meaning depends on the calling frame: calling them through
# the runtime would give the runtime's frame, so they stay direct calls
# (``vars`` and ``dir`` only without arguments).
FRAME_BUILTINS = frozenset({"globals", "locals", "eval", "exec", "super", "breakpoint"})
FRAME_BUILTINS_WITHOUT_ARGS = frozenset({"vars", "dir"})


def rewrite_module(tree: ast.Module, filename: str = "<unknown>",
                   first_call_warnings: tuple = ()) -> ast.Module:
    """Return a new module whose futurized parts call the runtime.

    ``first_call_warnings`` are (first line of a task function, line, message):
    the run gives each at that function's first call as a task.
    """
    rewriter = _Rewriter(_workflow_decorator_names(tree))
    body = rewriter.block(tree.body)
    insert_at = _preamble_index(tree.body)
    anchor = tree.body[insert_at] if insert_at < len(tree.body) else (tree.body or [None])[-1]
    preamble = [
        at(ast.Import(names=[ast.alias(name=RUNTIME_MODULE, asname=RUNTIME)]), anchor),
        at(ast.Expr(runtime_call("enter_module", [ast.Call(name_node("globals"), [], [])]
                                 + ([const(tuple(first_call_warnings))]
                                    if first_call_warnings else []))), anchor),
    ]
    new_insert = _preamble_index(body)
    body[new_insert:new_insert] = preamble
    if tree.body:
        body.append(at(ast.Expr(runtime_call("end_module", [])), tree.body[-1]))
    module = ast.Module(body=body, type_ignores=tree.type_ignores)
    return ast.fix_missing_locations(module)


def _preamble_index(body: list[ast.stmt]) -> int:
    """Position after the docstring and ``from __future__`` imports."""
    index = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        index = 1
    while index < len(body) and isinstance(body[index], ast.ImportFrom) \
            and body[index].module == "__future__":
        index += 1
    return index


def _workflow_decorator_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names that refer to ``autofuture.workflow`` and to the ``autofuture`` module."""
    direct, modules = set(), {"autofuture"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "autofuture":
            for alias in node.names:
                if alias.name == "workflow":
                    direct.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "autofuture":
                    modules.add(alias.asname or alias.name)
    return direct, modules


def is_workflow(func: ast.FunctionDef | ast.AsyncFunctionDef, names) -> bool:
    direct, modules = names
    for dec in func.decorator_list:
        if isinstance(dec, ast.Name) and dec.id in direct:
            return True
        if isinstance(dec, ast.Attribute) and dec.attr == "workflow" \
                and isinstance(dec.value, ast.Name) and dec.value.id in modules:
            return True
    return False


# -- node builders: every one is given the node whose place it takes --------

class _Rewriter:
    """Rewrites statements and expressions of futurized scopes."""

    def __init__(self, workflow_names):
        self.workflow_names = workflow_names
        self.temp_count = 0
        self.comprehension_iterable = 0  # inside one, no walrus may be generated
        self.unguarded = 0  # inside the rewritten half of a guarded operation

    def temp(self) -> str:
        self.temp_count += 1
        return f"__af_t{self.temp_count}"

    # -- statements ---------------------------------------------------------

    def block(self, body: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in body:
            out.extend(self.stmt(stmt))
        return out

    def stmt(self, node: ast.stmt) -> list[ast.stmt]:
        method = getattr(self, "stmt_" + type(node).__name__, None)
        if method is None:
            return [node]
        return method(node)

    def stmt_Expr(self, node):
        return [ast.copy_location(ast.Expr(self.expr(node.value)), node)]

    def stmt_Assign(self, node):
        value = self.expr(node.value)
        if len(node.targets) == 1:
            return self.assign(node.targets[0], value, node)
        name = self.temp()
        out = [at(ast.Assign(targets=[name_node(name, ast.Store())], value=value), node)]
        for target in node.targets:
            out.extend(self.assign(target, at(name_node(name), node), node))
        return out

    def stmt_AnnAssign(self, node):
        if node.value is None:
            return [node]
        value = self.expr(node.value)
        if isinstance(node.target, ast.Name):
            return [ast.copy_location(
                ast.AnnAssign(target=node.target, annotation=node.annotation, value=value,
                              simple=node.simple), node)]
        return self.assign(node.target, value, node)

    def assign(self, target: ast.expr, value: ast.expr, node: ast.stmt) -> list[ast.stmt]:
        """Statements that bind ``target`` to ``value`` (already rewritten)."""
        if isinstance(target, ast.Name):
            return [at(ast.Assign(targets=[target], value=value), node)]
        if isinstance(target, ast.Attribute):
            call = runtime_call("setattr", [self.expr(target.value), const(target.attr), value])
            return [at(ast.Expr(at(call, target)), node)]
        if isinstance(target, ast.Subscript):
            call = runtime_call("setitem", [self.expr(target.value),
                                             self.index(target.slice), value])
            return [at(ast.Expr(at(call, target)), node)]
        if isinstance(target, (ast.Tuple, ast.List)):
            unpacked = at(runtime_call("unpack", [value, const(target_shape(target))]), target)
            if simple_target(target):
                return [at(ast.Assign(targets=[unstarred(target)], value=unpacked), node)]
            name = self.temp()
            out = [at(ast.Assign(targets=[name_node(name, ast.Store())], value=unpacked), node)]
            for index, elt in enumerate(target.elts):
                elt = elt.value if isinstance(elt, ast.Starred) else elt
                item = ast.Subscript(value=name_node(name), slice=const(index), ctx=ast.Load())
                out.extend(self.assign(elt, at(item, node), node))
            return out
        return [node]  # the checker reports anything else

    def stmt_AugAssign(self, node):
        op = BINOPS[type(node.op)] + "="
        target, value = node.target, self.expr(node.value)
        if isinstance(target, ast.Attribute):
            call = runtime_call("augattr", [self.expr(target.value), const(target.attr),
                                             const(op), value])
        elif isinstance(target, ast.Subscript):
            call = runtime_call("augitem", [self.expr(target.value), self.index(target.slice),
                                             const(op), value])
        else:
            return [node]  # rebinding a name: the checker reports it
        return [at(ast.Expr(at(call, target)), node)]

    def stmt_Delete(self, node):
        out = []
        for target in node.targets:
            if isinstance(target, ast.Attribute):
                call = runtime_call("delattr", [self.expr(target.value), const(target.attr)])
            elif isinstance(target, ast.Subscript):
                call = runtime_call("delitem", [self.expr(target.value),
                                                 self.index(target.slice)])
            else:
                out.append(ast.copy_location(ast.Delete(targets=[target]), node))
                continue
            out.append(at(ast.Expr(at(call, target)), node))
        return out

    def stmt_For(self, node):
        target, body = node.target, self.block(node.body)
        head: list[ast.stmt] = []
        if target_shape(target) is not None and simple_target(target):
            # ``for a, b in xs``: each item is unpacked by the first statement of the
            # body, located at the target, where Python reports an unpacking error.
            item = self.temp()
            unpacked = at(runtime_call("unpack", [name_node(item), const(target_shape(target))]),
                          target)
            head = [at(ast.Assign(targets=[unstarred(target)], value=unpacked), target)]
            target = at(name_node(item, ast.Store()), target)
        elif simple_target(target):
            target = unstarred(target)
        before: list[ast.stmt] = []
        if plainloop.eligible(node.body, node.target):  # as written while no future exists
            before, body = plainloop.versioned(node, body, self.expr, self.temp)
        new = ast.For(target=target, iter=self.iterate(node.iter), body=head + body,
                      orelse=self.block(node.orelse), type_comment=node.type_comment)
        return [*before, ast.copy_location(new, node)]

    def stmt_While(self, node):
        new = ast.While(test=self.strict(node.test), body=self.block(node.body),
                        orelse=self.block(node.orelse))
        return [ast.copy_location(new, node)]

    def stmt_If(self, node):
        new = ast.If(test=self.strict(node.test), body=self.block(node.body),
                     orelse=self.block(node.orelse))
        return [ast.copy_location(new, node)]

    def stmt_With(self, node):
        items = [ast.withitem(context_expr=self.strict(item.context_expr),
                              optional_vars=item.optional_vars) for item in node.items]
        new = ast.With(items=items, body=self.guarded(node.body, node),
                       type_comment=node.type_comment)
        return [self.barrier(node), ast.copy_location(new, node)]

    def stmt_Try(self, node, kind=ast.Try):
        handlers = [
            ast.copy_location(ast.ExceptHandler(
                type=h.type, name=h.name,
                body=[at(ast.Expr(runtime_call("caught", [])), h)] + self.block(h.body)), h)
            for h in node.handlers
        ]
        new = kind(body=self.guarded(node.body, node), handlers=handlers,
                   orelse=self.block(node.orelse), finalbody=self.block(node.finalbody))
        return [self.barrier(node), ast.copy_location(new, node)]

    def stmt_TryStar(self, node):
        return self.stmt_Try(node, kind=ast.TryStar)

    def guarded(self, body: list[ast.stmt], node: ast.stmt) -> list[ast.stmt]:
        """A try/with body that ends with a barrier and settles pending work on error.

        Handlers and ``__exit__`` must see the errors raised in the body in
        program order: an earlier pending failure wins over an immediate one.
        """
        settle = ast.ExceptHandler(type=name_node("BaseException"), name=None, body=[
            ast.Expr(runtime_call("settle", [])), ast.Raise(exc=None, cause=None)])
        inner = ast.Try(body=self.block(body) + [self.barrier(node, end=True)],
                        handlers=[settle], orelse=[], finalbody=[])
        return [at(inner, body[0] if body else node)]

    def barrier(self, node: ast.stmt, end: bool = False) -> ast.stmt:
        return at(ast.Expr(runtime_call("barrier", [])), node, end=end)

    def stmt_Raise(self, node):
        exc = None if node.exc is None else self.strict(node.exc)
        cause = None if node.cause is None else self.strict(node.cause)
        return [ast.copy_location(ast.Raise(exc=exc, cause=cause), node)]

    def stmt_Assert(self, node):
        anchor = assert_anchor(node.test)
        if anchor is None:
            test = self.strict(node.test)
        else:  # `truth(test) is True`: a comparison where CPython 3.11 places the raise
            truth = at(runtime_call("truth", [self.expr(node.test)]), node.test)
            test = at(ast.Compare(left=truth, ops=[ast.Is()], comparators=[const(True)]),
                      anchor)
        msg = None if node.msg is None else self.strict(node.msg)
        return [ast.copy_location(ast.Assert(test=test, msg=msg), node)]

    def stmt_Return(self, node):
        # Only workflow functions' returns are rewritten (other bodies are left alone).
        value = const(None) if node.value is None else self.expr(node.value)
        call = at(runtime_call("workflow_return", [value]), node)
        return [ast.copy_location(ast.Return(value=call), node)]

    def stmt_Import(self, node):
        return [self.barrier(node), node]

    def stmt_ImportFrom(self, node):
        if node.module == "__future__":
            return [node]  # must stay first; nothing can be pending yet
        return self.stmt_Import(node)

    def stmt_Match(self, node):
        cases = [
            ast.match_case(pattern=case.pattern,
                           guard=None if case.guard is None else self.strict(case.guard),
                           body=self.block(case.body))
            for case in node.cases
        ]
        subject = at(runtime_call("subject", [self.expr(node.subject)]), node.subject)
        return [ast.copy_location(ast.Match(subject=subject, cases=cases), node)]

    def stmt_FunctionDef(self, node):
        if not is_workflow(node, self.workflow_names):
            return [node]
        # Leaving it, an ordinary caller gets values and the work done (see
        # __af__.workflow_return); falling off the end returns through it too.
        end = at(ast.Return(value=runtime_call("workflow_return", [const(None)])),
                  node.body[-1], end=True)
        new = ast.FunctionDef(name=node.name, args=node.args,
                              body=self.block(node.body) + [end],
                              decorator_list=node.decorator_list, returns=node.returns,
                              type_comment=node.type_comment)
        if hasattr(node, "type_params"):
            new.type_params = node.type_params
        return [ast.copy_location(new, node)]

    # -- expressions --------------------------------------------------------

    def expr(self, node: ast.expr | None) -> ast.expr | None:
        if node is None:
            return None
        method = getattr(self, "expr_" + type(node).__name__, None)
        if method is None:
            return node
        if not self.unguarded and isinstance(node, OPERATIONS):
            names = operand_names(node)
            if names:
                return at(self.plain_when_plain(node, names, method), node)
        return at(method(node), node)

    def plain_when_plain(self, node: ast.expr, names: list[str], method) -> ast.IfExp:
        """``y * 3 + i`` as Python wrote it when every name holds a plain value
        (an int, a str: nothing a future could be), else the rewritten form.

        Operators on such values cannot wait for anything, so one type test
        per name replaces a runtime call per operator.
        """
        self.unguarded += 1
        try:
            rewritten = method(node)
        finally:
            self.unguarded -= 1
        tests = [ast.Compare(left=runtime_call("typeof", [name_node(name)]), ops=[ast.In()],
                             comparators=[ast.Attribute(value=name_node(RUNTIME), attr="ATOMS",
                                                        ctx=ast.Load())])
                 for name in names]
        test = tests[0] if len(tests) == 1 else ast.BoolOp(op=ast.And(), values=tests)
        return ast.IfExp(test=test, body=copy.deepcopy(node), orelse=rewritten)

    def strict(self, node: ast.expr) -> ast.expr:
        """A place where Python needs the value to go on: the workflow waits."""
        new = self.expr(node)
        return new if constant(new) else at(runtime_call("value", [new]), node)

    def key(self, node: ast.expr) -> ast.expr:
        """A dict key or set member: hashed by Python, so it needs the value."""
        new = self.expr(node)
        return new if constant(new) else at(runtime_call("key", [new]), node)

    def iterate(self, node: ast.expr, target: ast.expr | None = None) -> ast.expr:
        args = [self.expr(node)]
        shape = None if target is None else target_shape(target)
        if shape is not None and simple_target(target):
            args.append(const(shape))
        return at(runtime_call("iterate", args), node)

    def index(self, node: ast.expr) -> ast.expr:
        if isinstance(node, ast.Slice):
            parts = [self.expr(part) if part is not None else const(None)
                     for part in (node.lower, node.upper, node.step)]
            return at(runtime_call("slice", parts), node)
        if isinstance(node, ast.Tuple):
            return at(ast.Tuple(elts=[self.index(elt) for elt in node.elts],
                                 ctx=ast.Load()), node)
        return self.expr(node)

    def call_args(self, node: ast.Call) -> tuple[list[ast.expr], list[ast.keyword]]:
        args = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                args.append(ast.copy_location(
                    ast.Starred(value=self.iterate(arg.value), ctx=ast.Load()), arg))
            else:
                args.append(self.expr(arg))
        keywords = []
        for kw in node.keywords:
            value = self.strict(kw.value) if kw.arg is None else self.expr(kw.value)
            keywords.append(ast.copy_location(ast.keyword(arg=kw.arg, value=value), kw))
        return args, keywords

    def expr_Call(self, node):
        args, keywords = self.call_args(node)
        func = node.func
        if isinstance(func, ast.Name) and (
                func.id in FRAME_BUILTINS
                or func.id in FRAME_BUILTINS_WITHOUT_ARGS and not args and not keywords):
            # Called directly, so their arguments must be values (``*args`` item by item).
            args = [ast.copy_location(ast.Starred(
                        value=at(runtime_call("values", [arg.value.args[0]]), arg),
                        ctx=ast.Load()), arg)
                    if isinstance(arg, ast.Starred)
                    else at(runtime_call("value", [arg]), arg) for arg in args]
            keywords = [kw if kw.arg is None else ast.keyword(
                arg=kw.arg, value=at(runtime_call("value", [kw.value]), kw.value))
                for kw in keywords]
            return ast.Call(func=func, args=args, keywords=keywords)
        if isinstance(func, ast.Attribute):
            # The name where Python's own lookup is, `obj.name`: an error in the lookup
            # is reported there (see runtime.tracebacks.refine).
            name = at(const(func.attr), func)
            return runtime_call("method", [self.expr(func.value), name, *args], keywords)
        return runtime_call("call", [self.expr(func), *args], keywords)

    def expr_Attribute(self, node):
        if not isinstance(node.ctx, ast.Load):
            return node
        return runtime_call("getattr", [self.expr(node.value), const(node.attr)])

    def expr_Subscript(self, node):
        if not isinstance(node.ctx, ast.Load):
            return node
        return runtime_call("getitem", [self.expr(node.value), self.index(node.slice)])

    def expr_BinOp(self, node):
        left, right = self.expr(node.left), self.expr(node.right)
        if constant(left) and constant(right):
            return node  # no future can be involved: Python folds it
        return runtime_call("op", [const(BINOPS[type(node.op)]), left, right])

    def expr_UnaryOp(self, node):
        operand = self.expr(node.operand)
        if constant(operand):
            return node
        return runtime_call("op", [const(UNARYOPS[type(node.op)]), operand])

    def expr_Compare(self, node):
        operands = [self.expr(node.left)] + [self.expr(c) for c in node.comparators]
        if all(constant(operand) for operand in operands):
            return node
        if len(node.ops) == 1:
            return runtime_call("op", [const(CMPOPS[type(node.ops[0])]), *operands])
        if self.comprehension_iterable:
            # No walrus allowed here: every operand is evaluated (documented).
            ops = tuple(CMPOPS[type(op)] for op in node.ops)
            return runtime_call("compare", [const(ops), *operands])
        # a < b < c: `a < (t := b)` is tested, and only if true is c evaluated,
        # as Python does; b is evaluated once.
        tests, left = [], operands[0]
        for op, right in zip(node.ops, operands[1:], strict=True):
            if len(tests) < len(node.ops) - 1:
                temp = self.temp()
                right = at(ast.NamedExpr(target=name_node(temp, ast.Store()), value=right), right)
            tests.append(runtime_call("op", [const(CMPOPS[type(op)]), left, right]))
            left = name_node(temp) if len(tests) < len(node.ops) else None
        values = [at(runtime_call("value", [test]), node) for test in tests[:-1]]
        return ast.BoolOp(op=ast.And(), values=values + [tests[-1]])

    def expr_BoolOp(self, node):
        # Every operand but the last is tested, so it needs its value; the
        # result is then exactly Python's (the last operand may stay a future).
        values = [self.strict(v) for v in node.values[:-1]] + [self.expr(node.values[-1])]
        return ast.BoolOp(op=node.op, values=values)

    def expr_IfExp(self, node):
        return ast.IfExp(test=self.strict(node.test), body=self.expr(node.body),
                         orelse=self.expr(node.orelse))

    def expr_NamedExpr(self, node):
        return ast.NamedExpr(target=node.target, value=self.expr(node.value))

    def expr_JoinedStr(self, node):
        parts = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                spec = self.expr(value.format_spec) if value.format_spec else const(None)
                parts.append(at(ast.Tuple(elts=[self.expr(value.value),
                                                 const(value.conversion), spec],
                                           ctx=ast.Load()), value))
            elif value.value:  # 3.12 parses some format specs with an empty text part
                parts.append(value)
        return runtime_call("fstring", parts)

    def expr_List(self, node):
        return ast.List(elts=self.display(node.elts), ctx=node.ctx)

    def expr_Tuple(self, node):
        if not isinstance(node.ctx, ast.Load):
            return node
        return ast.Tuple(elts=self.display(node.elts), ctx=node.ctx)

    def display(self, elts: list[ast.expr]) -> list[ast.expr]:
        out = []
        for elt in elts:
            if isinstance(elt, ast.Starred):
                out.append(ast.copy_location(
                    ast.Starred(value=self.iterate(elt.value), ctx=ast.Load()), elt))
            else:
                out.append(self.expr(elt))
        return out

    def expr_Set(self, node):
        elts = [ast.copy_location(ast.Starred(value=self.iterate(e.value), ctx=ast.Load()), e)
                if isinstance(e, ast.Starred) else self.key(e) for e in node.elts]
        return ast.Set(elts=elts)

    def expr_Dict(self, node):
        keys = [None if k is None else self.key(k) for k in node.keys]
        values = [self.strict(v) if k is None else self.expr(v)
                  for k, v in zip(node.keys, node.values, strict=True)]
        return ast.Dict(keys=keys, values=values)

    def comprehension(self, gen: ast.comprehension) -> ast.comprehension:
        target = unstarred(gen.target) if simple_target(gen.target) else gen.target
        self.comprehension_iterable += 1
        try:
            iterable = self.iterate(gen.iter, gen.target)
        finally:
            self.comprehension_iterable -= 1
        return ast.comprehension(target=target, iter=iterable,
                                 ifs=[self.strict(test) for test in gen.ifs],
                                 is_async=gen.is_async)

    def expr_ListComp(self, node):
        rewritten = ast.ListComp(elt=self.expr(node.elt),
                                 generators=[self.comprehension(g) for g in node.generators])
        if mapcalls.mappable(node, FRAME_BUILTINS | FRAME_BUILTINS_WITHOUT_ARGS):
            return mapcalls.as_map(rewritten)  # one call per element: runtime/maps.py
        return rewritten

    def expr_SetComp(self, node):
        return ast.SetComp(elt=self.key(node.elt),
                           generators=[self.comprehension(g) for g in node.generators])

    def expr_DictComp(self, node):
        return ast.DictComp(key=self.key(node.key), value=self.expr(node.value),
                            generators=[self.comprehension(g) for g in node.generators])

    def expr_GeneratorExp(self, node):
        # Its consumer is ordinary code, which must see values.
        return ast.GeneratorExp(elt=self.strict(node.elt),
                                generators=[self.comprehension(g) for g in node.generators])
