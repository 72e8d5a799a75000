"""Load-time pipeline: parse, check, rewrite, compile.

Pure functions of the source text; the import hook, the command line and the
notebook magic are the only callers, and only they touch the file system.
"""

from __future__ import annotations

import ast
import types

from ._check import check_module
from ._errors import Problem
from ._rewrite import rewrite_module


def parse(source: str | bytes, filename: str) -> ast.Module:
    return ast.parse(source, filename=filename)


def problems(source: str | bytes, filename: str) -> list[Problem]:
    """Every load-time problem (errors and warnings), in source order."""
    return check_module(parse(source, filename), filename)


def check(tree: ast.Module, source: str | bytes, filename: str) -> None:
    """Raise the first load-time error of ``tree`` (parsed from ``source``) as a
    ``SyntaxError``; warnings never stop a load."""
    for problem in check_module(tree, filename):
        if not problem.warning:
            text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
            raise problem.to_error(text.splitlines())


def transform(source: str | bytes, filename: str) -> ast.Module:
    """The rewritten module; raises the first load-time error as a ``SyntaxError``."""
    tree = parse(source, filename)
    check(tree, source, filename)
    return rewrite_module(tree, filename)


def source_to_code(source: str | bytes, filename: str) -> types.CodeType:
    return compile(transform(source, filename), filename, "exec", dont_inherit=True)


def show(source: str | bytes, filename: str) -> str:
    """The rewritten source, as ``autofuture show`` prints it."""
    return ast.unparse(transform(source, filename))
