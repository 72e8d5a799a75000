"""Load-time pipeline: parse, check, rewrite, compile.

Pure functions of the source text; the import hook, the command line and the
notebook magic are the only callers, and only they touch the file system.
"""

from __future__ import annotations

import ast
import types

from .._errors import Problem
from .check import check_module
from .rewrite import rewrite_module


def parse(source: str | bytes, filename: str) -> ast.Module:
    return ast.parse(source, filename=filename)


def problems(source: str | bytes, filename: str) -> list[Problem]:
    """Every load-time problem (errors and warnings), in source order."""
    return check_module(parse(source, filename), filename)


def check(tree: ast.Module, source: str | bytes, filename: str) -> tuple:
    """Raise the first load-time error of ``tree`` (parsed from ``source``) as a
    ``SyntaxError``; warnings never stop a load. Returns the warnings to give
    again when a task is first called, for ``rewrite_module``."""
    first_call = []
    for problem in check_module(tree, filename):
        if not problem.warning:
            text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
            raise problem.to_error(text.splitlines())
        if problem.scope is not None:  # given again when the task is first called
            first_call.append((problem.scope, problem.lineno,
                               f"{problem.message} [{problem.code}]"))
    return tuple(first_call)


def transform(source: str | bytes, filename: str) -> ast.Module:
    """The rewritten module; raises the first load-time error as a ``SyntaxError``."""
    tree = parse(source, filename)
    return rewrite_module(tree, filename, check(tree, source, filename))


def source_to_code(source: str | bytes, filename: str) -> types.CodeType:
    return compile(transform(source, filename), filename, "exec", dont_inherit=True)


def show(source: str | bytes, filename: str) -> str:
    """The rewritten source, as ``autofuture show`` prints it."""
    return ast.unparse(transform(source, filename))
