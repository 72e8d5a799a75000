"""Small readers of the syntax tree shared by the load-time checks: positions and walks."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

Pos = tuple[int, int, "int | None", "int | None"]
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
TRY = (ast.Try, getattr(ast, "TryStar", ast.Try))  # except* is 3.11+


def span(node: ast.AST) -> Pos:
    return (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)


def keyword_name_pos(node: ast.stmt, keyword: str) -> Pos:
    """``def name`` or ``class name``: from the keyword to the end of the name."""
    end = node.col_offset + len(keyword) + len(node.name)
    return (node.lineno, node.col_offset, node.lineno, end)


def except_name_pos(handler: ast.ExceptHandler) -> Pos:
    """The ``e`` of ``except T as e``, which has no node of its own."""
    if handler.type is None:  # ``except as e`` is not Python; keep the keyword's place
        return (handler.lineno, handler.col_offset, handler.lineno, handler.col_offset + 6)
    start = handler.type.end_col_offset + len(" as ")
    return (handler.type.end_lineno, start, handler.type.end_lineno, start + len(handler.name))


def flatten(target: ast.expr) -> Iterator[ast.expr]:
    if isinstance(target, (ast.Tuple, ast.List)):
        for elt in target.elts:
            yield from flatten(elt)
    else:
        yield target


def arguments(args: ast.arguments) -> list[ast.arg]:
    extra = [a for a in (args.vararg, args.kwarg) if a is not None]
    return [*args.posonlyargs, *args.args, *args.kwonlyargs, *extra]


def walk_own(nodes: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """Every node of a body, not descending into nested functions, lambdas or classes."""
    stack = list(nodes)[::-1]
    while stack:  # depth first, in source order
        node = stack.pop()
        yield node
        if not isinstance(node, SCOPES):
            stack.extend(reversed(list(ast.iter_child_nodes(node))))


def local_names(func: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> frozenset[str]:
    """Names a function binds itself (an over-approximation), which hide module names."""
    names = {arg.arg for arg in arguments(func.args)}
    for node in walk_own([func.body] if isinstance(func, ast.Lambda) else func.body):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, (*FUNCTIONS, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.partition(".")[0])
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return frozenset(names)


def toplevel_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The module's statements, including those in its blocks, but not in defs or classes."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, SCOPES):
            continue
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            for child in getattr(stmt, field, ()):
                if isinstance(child, (ast.ExceptHandler, ast.match_case)):
                    yield from toplevel_statements(child.body)
                else:
                    yield from toplevel_statements([child])


def calls_per_element(generator: ast.GeneratorExp) -> bool:
    """Whether a generator makes calls as it is consumed (its first iterable runs at once)."""
    lazy: list[ast.AST] = [generator.elt]
    for index, comp in enumerate(generator.generators):
        lazy += comp.ifs
        if index:
            lazy.append(comp.iter)
    return any(isinstance(n, ast.Call) for part in lazy for n in ast.walk(part))
