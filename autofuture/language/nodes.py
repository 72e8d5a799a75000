"""Building and reading expression nodes for the rewriter.

Every node built here takes its location from the node it replaces (``at``),
so tracebacks and ``dis`` positions point at the user's own code.
"""

from __future__ import annotations

import ast
import sys

#: The name rewritten code calls the runtime under; no user name can be it.
RUNTIME = "__af__"


def at(new: ast.AST, old: ast.AST | None, end: bool = False) -> ast.AST:
    """Give ``new`` and its unlocated descendants the location of ``old``."""
    if old is None:
        return new
    lineno = getattr(old, "end_lineno", None) if end else getattr(old, "lineno", None)
    if lineno is None:
        return new
    col = getattr(old, "end_col_offset", 0) if end else old.col_offset
    end_lineno = getattr(old, "end_lineno", lineno)
    end_col = getattr(old, "end_col_offset", col)
    for node in ast.walk(new):
        if "lineno" in node._attributes and getattr(node, "lineno", None) is None:
            node.lineno, node.col_offset = lineno, col
            if getattr(node, "_af_head", False):
                # ``__af__.fn`` itself: on the first line, so line events and
                # tracebacks of multi-line constructs start where Python's do.
                node.end_lineno, node.end_col_offset = lineno, col
            else:
                node.end_lineno, node.end_col_offset = end_lineno, end_col
    return new


def name_node(id_: str, ctx: ast.expr_context | None = None) -> ast.Name:
    return ast.Name(id=id_, ctx=ctx or ast.Load())


def const(value) -> ast.Constant:
    return ast.Constant(value=value)


def runtime_call(func: str, args: list[ast.expr], keywords=None) -> ast.Call:
    name = name_node(RUNTIME)
    attr = ast.Attribute(value=name, attr=func, ctx=ast.Load())
    name._af_head = attr._af_head = True
    return ast.Call(func=attr, args=args, keywords=keywords or [])


def target_shape(target: ast.expr):
    """The unpacking shape of a target: None for a leaf, '*' for a starred leaf."""
    if isinstance(target, (ast.Tuple, ast.List)):
        return tuple(target_shape(elt) for elt in target.elts)
    if isinstance(target, ast.Starred):
        return "*"
    return None


def unstarred(target: ast.expr) -> ast.expr:
    """The target with each ``*name`` replaced by ``name`` (the runtime gives it a list)."""
    if isinstance(target, (ast.Tuple, ast.List)):
        return ast.copy_location(
            ast.Tuple(elts=[unstarred(elt) for elt in target.elts], ctx=ast.Store()), target
        )
    if isinstance(target, ast.Starred):
        return target.value
    return target


def constant(node: ast.expr) -> bool:
    """A literal, or an operation on literals: never a future."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Tuple):
        return all(constant(elt) for elt in node.elts)
    if isinstance(node, ast.BinOp):
        return constant(node.left) and constant(node.right)
    if isinstance(node, ast.UnaryOp):
        return constant(node.operand)
    return False


#: Expressions that may be guarded: operators and f-strings.
OPERATIONS = (ast.BinOp, ast.UnaryOp, ast.Compare, ast.JoinedStr)
#: What a guarded expression may consist of besides names.
PLAIN_PARTS = (ast.Constant, ast.BinOp, ast.UnaryOp, ast.Compare, ast.JoinedStr,
                ast.FormattedValue, ast.operator, ast.unaryop, ast.cmpop, ast.Load)


def operand_names(node: ast.expr) -> list[str]:
    """The names of an expression made only of operators, f-strings, names and
    literals, each once; empty if it has anything else (a call, a subscript)."""
    names: list[str] = []
    stack = [node]
    while stack:  # depth first, in evaluation order, so a missing name is reported first
        sub = stack.pop()
        if isinstance(sub, ast.Name):
            if sub.id not in names:
                names.append(sub.id)
        elif isinstance(sub, PLAIN_PARTS):
            stack.extend(reversed(list(ast.iter_child_nodes(sub))))
        else:
            return []
    return names


def simple_target(target: ast.expr) -> bool:
    """Names, possibly nested in tuples and lists: assignable by Python itself."""
    if isinstance(target, (ast.Tuple, ast.List)):
        return all(simple_target(elt) for elt in target.elts)
    if isinstance(target, ast.Starred):
        return simple_target(target.value)
    return isinstance(target, ast.Name)


def assert_anchor(test: ast.expr) -> ast.expr | None:
    """The comparison whose position CPython 3.11 gives a failing assert's raise: the
    last one its conditional jumps evaluate (through ``not``, ``and``/``or`` and
    conditional expressions). Other versions place the raise by the statement or the
    whole test, which the rewritten test keeps. None: no such comparison."""
    if sys.version_info[:2] != (3, 11):
        return None
    if isinstance(test, ast.Compare):
        return test
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return assert_anchor(test.operand)
    parts = test.values if isinstance(test, ast.BoolOp) else (
        [test.test, test.body, test.orelse] if isinstance(test, ast.IfExp) else [])
    found = None
    for part in parts:
        found = assert_anchor(part) or found
    return found
