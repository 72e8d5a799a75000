"""Rewritten code points where the user's code points: lines, columns, tracebacks.

A differential test (DESIGN.md, "Locations are set when a node is built"):
each program is compiled as written and as rewritten, and the two are
compared code object by code object (matched by name and first line):

- every line that carries code in the original carries code in the rewrite,
  and no rewritten instruction points outside the lines of the original
  statements that its code object runs; the preamble takes the line of the
  first statement after the docstring and ``from __future__`` imports;
- the (line, end line, column, end column) of every call, operator and read
  of the original is the position of some instruction of the rewrite, so
  ``co_positions`` and the carets Python draws stay on the user's code;
- run, the same programs raise with the same ``File ..., line N, in NAME``
  frames as under plain Python, and from 3.11 on with the same caret line
  under the innermost frame of the user's file.

The compiled programs need not run; the traceback programs are run under
``python`` and under ``python -m autofuture --executor serial``.
"""

from __future__ import annotations

import ast
import dis
import os
import re
import sys
import textwrap
import types

import e2e
import pytest

from autofuture.language.rewrite import rewrite_module

POSITIONS = sys.version_info >= (3, 11)  # co_positions, and carets in tracebacks
needs_positions = pytest.mark.skipif(not POSITIONS, reason="co_positions is 3.11+")

FILENAME = "prog.py"


def _source(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# -- the compiled programs ------------------------------------------------------------------

EXPRESSIONS = '''
    """Reads, operators, displays and comprehensions at the top level."""
    import math

    def square(x):
        return x * x

    r = square(3)
    total = r + 2 * -r
    ratio = (total - 1) / (r ** 2 % 7)
    inv = ~r
    pos = +r
    neg = not r
    table = {"k": [r, total], "j": {ratio}, **{"z": 0}}
    first = table["k"][0:1][0]
    row = table["k"][::2]
    grid = [[1, 2], [3, 4]]
    cell = grid[1][r % 2]
    attr = r.real + ratio.imag
    check = r < 5 < 7 and r is not None or r in table
    picked = total if r > 3 else ratio
    label = f"{r!r:>{r}} and {ratio:.2f} of {table['k']}"
    squares = [square(i) for i in range(r) if i % 2]
    evens = {i for i in squares if i}
    lookup = {k: v for k, v in table.items() if k != "j"}
    flat = [c for row_ in grid for c in row_]
    summed = sum(i * 2 for i in range(4))
    call = print(*squares, sep=", ", **{"end": "\\n"})
    multi = max(
        square(2),
        square(
            r,
        ),
        total,
    )
    walrus = [y for x in squares if (y := x + 1) > 2]
    last = math.sqrt(r) + math.pi
'''

STATEMENTS = '''
    # autofuture
    import contextlib


    class Box:
        def __init__(self):
            self.items = {}


    def square(x):
        return x * x


    box = Box()
    box.n = square(2)
    box.n += 1
    box.items["a"] = square(3)
    box.items["a"] -= 1
    del box.items["a"]
    a, b = square(1), square(2)
    first, *rest = [square(i) for i in range(4)]
    (p, (q, s)) = (1, (2, 3))
    x1 = x2 = square(5)
    ann: int = square(6)
    for i, j in [(1, 2), (3, 4)]:
        print(i, j)
    else:
        print("done")
    while a > 100:
        print(a)
    if b > 1:
        print("big")
    elif b:
        print("small")
    else:
        print("zero")
    with contextlib.suppress(KeyError):
        v = {}["missing"]
        print(v)
    try:
        w = 1 / square(0)
    except ZeroDivisionError as err:
        print(err)
    else:
        print(w)
    finally:
        print("finally")
    assert a < b, f"{a} >= {b}"
    match b:
        case 4 if a == 1:
            print("four")
        case [x, *_]:
            print(x)
        case _:
            pass
'''

FUNCTIONS = '''
    """Workflow functions are rewritten; ordinary ones, classes and lambdas are not."""

    import functools

    import autofuture


    def helper(v, scale=len("abc")):
        return [x * scale for x in v if x]


    @functools.lru_cache(maxsize=None)
    def cached(n):
        return n + 1


    class Shape:
        sides = cached(3)

        def area(self, k):
            return sum(i * k for i in range(self.sides))


    @autofuture.workflow
    def main(n=cached(1)):
        values = helper([n, n + 1])
        shaped = Shape().area(values[0])
        pairs = {i: (lambda z: z * 2)(i) for i in values}
        for key, value in pairs.items():
            print(key, value, shaped)
        try:
            print(values[10])
        except IndexError:
            pass

        @autofuture.workflow
        def inner(m):
            return helper([m])[0]

        return inner(n)


    double = lambda v: v * 2
    if __name__ == "__main__":
        print(main(double(2)))
'''

SPREAD = '''
    """A docstring, comments and blank lines: the preamble goes to line 7."""

    # A comment between the docstring and the first statement.



    total = sum(
        [
            1,
            2,
        ]
    )

    print(
        total,

        total + 1)
'''


# -- the traceback programs: (source, line of the innermost user frame, error) -------------

TRACEBACKS = {
    # A task's frames are rebuilt with the positions the worker's instruction had.
    "task-error": ('''
        # autofuture
        def boom(x):
            return 1 // x

        r = boom(0)
        print(r)
        ''', 3, "ZeroDivisionError: integer division or modulo by zero"),
    "zero-division-at-line-5": ('''
        # autofuture
        def square(x):
            return x * x
        r = square(3)
        y = r + 1/0
        ''', 5, "ZeroDivisionError: division by zero"),
    "local-call-in-nested-expressions": ('''
        # autofuture
        import autofuture

        @autofuture.local
        def parse(text):
            return int(text)

        print(len(str(parse("x" + "y"))) + 1)
        ''', 6, "ValueError: invalid literal for int() with base 10: 'xy'"),
    "local-call-of-a-future-fails-in-its-turn": ('''
        # autofuture
        import autofuture

        def square(x):
            return x * x

        @autofuture.local
        def parse(text):
            return int(text)

        r = square(3)
        print("before")
        print(len(str(parse(f"{r}x"))) + 1)
        print("after")
        ''', 9, "ValueError: invalid literal for int() with base 10: '9x'"),
    "dict-read-key-error": ('''
        # autofuture
        d = {"a": 1}
        print(d["a"])
        print(d["a"] + d["b"])
        ''', 4, "KeyError: 'b'"),
    "key-error-in-a-multi-line-call-in-try": ('''
        # autofuture
        def square(x):
            return x * x

        try:
            total = sum([
                square(1),
                {}["missing"],
            ])
        finally:
            print("cleanup")
        ''', 8, "KeyError: 'missing'"),
    "raise-in-workflow-loop": ('''
        # autofuture
        import autofuture

        def square(x):
            return x * x

        @autofuture.workflow
        def main():
            values = [square(i) for i in range(3)]
            for v in values:
                print(v)
                if v > 3:
                    raise ValueError(f"too big: {v}")

        if __name__ == "__main__":
            main()
        ''', 13, "ValueError: too big: 4"),
    "attribute-error-on-a-future": ('''
        # autofuture
        def square(x):
            return x * x

        r = square(3)
        print(r.real)
        print(r.missing)
        ''', 7, "AttributeError: 'int' object has no attribute 'missing'"),
    "error-in-a-multi-line-argument": ('''
        # autofuture
        def square(x):
            return x * x

        result = max(
            square(2),
            int("nope"),
            square(3),
        )
        ''', 7, "ValueError: invalid literal for int() with base 10: 'nope'"),
    "method-of-a-local-object": ('''
        # autofuture
        class Box:
            def __init__(self, items):
                self.items = items

            def pick(self, i):
                return self.items[i]

        def square(x):
            return x * x

        box = Box([square(1), square(2)])
        print(box.pick(1))
        print(box.pick(5))
        ''', 7, "IndexError: list index out of range"),
    "error-after-a-suppressing-with": ('''
        # autofuture
        import contextlib

        def square(x):
            return x * x

        with contextlib.suppress(KeyError):
            r = square(2)
            print({}[r])
        print("suppressed")
        with contextlib.suppress(KeyError):
            q = square(3)
            print([][q])
        ''', 13, "IndexError: list index out of range"),
    "operator-in-a-comprehension": ('''
        # autofuture
        def square(x):
            return x * x

        squares = [square(i) for i in range(4)]
        ratios = [10 / (s - 4) for s in squares]
        print(ratios)
        ''', 6, "ZeroDivisionError: division by zero"),
    "operator-on-a-future": ('''
        # autofuture
        def square(x):
            return x * x

        r = square(3)
        label = "big" if r > 5 else "small"
        print(label)
        total = r + None
        ''', 8, "TypeError: unsupported operand type(s) for +: 'int' and 'NoneType'"),
    "unhashable-dict-key": ('''
        # autofuture
        def square(x):
            return x * x

        values = {square(i) for i in range(3)}
        keys = {[1]: square(2)}
        ''', 6, "TypeError: unhashable type: 'list'"),
    "item-of-a-future": ('''
        # autofuture
        def square(x):
            return x * x

        r = square(3)
        print(r[0])
        ''', 6, "TypeError: 'int' object is not subscriptable"),
    "len-of-a-future": ('''
        # autofuture
        def square(x):
            return x * x

        r = square(3)
        print(len(r))
        ''', 6, "TypeError: object of type 'int' has no len()"),
    # The targets Python points at (`a, b`, `point[0]`, `frozen.extra`, `items["b"]`,
    # `r.real`): the runtime call that stores, deletes or unpacks is located there.
    "unpacking-assignment": ('''
        # autofuture
        def square(x):
            return x * x

        r = square(3)
        a, b = square(3)
        ''', 6, "TypeError: cannot unpack non-iterable int object"),
    "starred-unpacking-assignment": ('''
        # autofuture
        def square(x):
            return x * x

        r = square(3)
        first, *rest = r
        ''', 6, "TypeError: cannot unpack non-iterable int object"),
    "item-assignment": ('''
        # autofuture
        def square(x):
            return x * x

        point = (1, 2)
        point[0] = square(3)
        ''', 6, "TypeError: 'tuple' object does not support item assignment"),
    "attribute-assignment": ('''
        # autofuture
        def square(x):
            return x * x

        frozen = frozenset()
        frozen.extra = square(2)
        ''', 6, "AttributeError: 'frozenset' object has no attribute 'extra'"
        + (" and no __dict__ for setting new attributes" if sys.version_info >= (3, 13) else "")),
    "augmented-item": ('''
        # autofuture
        def square(x):
            return x * x

        r = square(3)
        items = {"a": r}
        items["b"] += 1
        ''', 7, "KeyError: 'b'"),
    "attribute-deletion": ('''
        # autofuture
        def square(x):
            return x * x

        r = square(3)
        del r.real
        ''', 6, "AttributeError: attribute 'real' of 'int' objects is not writable"),
    # The `__af__.call` lookup sits on the call's first line, so 3.10 reports that line too.
    "multi-line-call-fails-as-a-whole": ('''
        # autofuture
        def square(x):
            return x * x

        total = max(
            square(1),
            None,
        )
        ''', 5, "TypeError: '>' not supported between instances of 'NoneType' and 'int'"),
    # A task's own frame, a call deeper: rebuilt at the span that raised on the worker.
    "task-error-in-a-nested-call": ('''
        # autofuture
        def inner(items):
            return items["missing"]

        def outer(x):
            return inner({"x": x}) + 1

        r = outer(2)
        ''', 3, "KeyError: 'missing'"),
    # A for target is unpacked by the body's first statement, located at the target.
    "for-target-unpacking": ('''
        # autofuture
        pairs = [(1, 2), (3, 4), 5]
        for a, b in pairs:
            print(a, b)
        ''', 3, "TypeError: cannot unpack non-iterable int object"),
    "for-nested-target-unpacking": ('''
        # autofuture
        def pairs():
            return [(1, (2, 3)), (4, (5,))]

        for a, (b, c) in pairs():
            print(a, b, c)
        ''', 5, "ValueError: not enough values to unpack (expected 2, got 1)"),
    # `__af__.method(r, 'nope')`: the name is located at `r.nope`, where Python's lookup
    # fails, and a failed lookup is reported there (a future's at its turn, a value's now).
    "missing-method-of-a-future": ('''
        # autofuture
        def square(x):
            return x * x

        r = square(3)
        print(r.bit_length())
        print(r.nope())
        ''', 7, "AttributeError: 'int' object has no attribute 'nope'"),
    "missing-method-of-a-value": ('''
        # autofuture
        numbers = [1, 2]
        numbers.append(3)
        print(numbers.push(4))
        ''', 4, "AttributeError: 'list' object has no attribute 'push'"),
    "missing-method-in-a-chain": ('''
        # autofuture
        def square(x):
            return x * x

        text = str(square(3))
        print(text.upper().nope().lower())
        ''', 6, "AttributeError: 'str' object has no attribute 'nope'"),
    # From 3.12 Python points at the failing field of an f-string; 3.11 at all of it.
    "format-spec-error": ('''
        # autofuture
        def half(x):
            return x / 2

        r = half(3)
        print(f"value: {r:d}")
        ''', 6, "ValueError: Unknown format code 'd' for object of type 'float'"),
    "format-spec-error-in-the-second-field": ('''
        # autofuture
        def half(x):
            return x / 2

        r = half(3)
        print(f"{r:.1f} and {r:d} and {r}")
        ''', 6, "ValueError: Unknown format code 'd' for object of type 'float'"),
    # CPython 3.11 gives an assert's raise the position of the last comparison its test
    # jumps on, else of the whole statement; 3.12 of the statement; 3.13 of the test.
    "assert-with-comparison": ('''
        # autofuture
        def square(x):
            return x * x

        r = square(3)
        assert r > 100, r
        ''', 6, "AssertionError: 9"),
    "assert-with-a-comparison-in-or": ('''
        # autofuture
        def square(x):
            return x * x

        def small(x):
            return x < 3

        r = square(3)
        assert small(r) or not r < 100, r
        ''', 9, "AssertionError: 9"),
    "assert-with-a-call": ('''
        # autofuture
        def square(x):
            return x * x

        def small(x):
            return x < 3

        r = square(3)
        assert small(r), r
        ''', 9, "AssertionError: 9"),
}


PROGRAMS = {
    "expressions": EXPRESSIONS,
    "statements": STATEMENTS,
    "functions": FUNCTIONS,
    "spread": SPREAD,
    **{f"tb-{name}": source for name, (source, *_) in TRACEBACKS.items()},
}


# -- compiling and comparing ----------------------------------------------------------------

Key = tuple  # (co_name, co_firstlineno): the same in the original and the rewrite


def _compile_both(source: str) -> tuple[ast.Module, types.CodeType, types.CodeType]:
    text = _source(source)
    original = ast.parse(text, FILENAME)
    plain = compile(original, FILENAME, "exec", dont_inherit=True)
    rewritten = compile(rewrite_module(ast.parse(text, FILENAME), FILENAME), FILENAME,
                        "exec", dont_inherit=True)
    return original, plain, rewritten


def _code_objects(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _by_key(code: types.CodeType) -> dict[Key, types.CodeType]:
    found: dict[Key, types.CodeType] = {}
    for each in _code_objects(code):
        key = (each.co_name, each.co_firstlineno)
        assert key not in found, f"two code objects {key}: the programs must avoid that"
        found[key] = each
    return found


def _lines(code: types.CodeType) -> set[int]:
    return {line for _, _, line in code.co_lines() if line}


def _line_of_offsets(code: types.CodeType) -> dict[int, int | None]:
    lines = {}
    for start, end, line in code.co_lines():
        for offset in range(start, end, 2):
            lines[offset] = line
    return lines


def _spans(code: types.CodeType) -> list[tuple[int, int]]:
    """(first line, last line) of each instruction that has a line."""
    if POSITIONS:
        return [(p[0], p[1]) for p in code.co_positions() if p[0]]
    return [(line, line) for line in _lines(code)]


def _span(stmt: ast.stmt) -> tuple[int, int]:
    """A statement's lines, with its decorators."""
    first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", ())])
    return first, stmt.end_lineno


def _innermost_statement_spans(tree: ast.Module, lines: set[int]) -> set[tuple[int, int]]:
    """The spans of the innermost original statements on ``lines``."""
    spans = set()
    statements = [node for node in ast.walk(tree) if isinstance(node, ast.stmt)]
    for line in lines:
        for stmt in statements:
            first, last = _span(stmt)
            if not first <= line <= last:
                continue
            children = [c for c in ast.walk(stmt) if c is not stmt and isinstance(c, ast.stmt)]
            if not any(_span(c)[0] <= line <= _span(c)[1] for c in children):
                spans.add((first, last))
    return spans


def _first_statement(tree: ast.Module) -> ast.stmt:
    """The statement the preamble stands in front of."""
    body = tree.body
    index = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        index = 1
    while index < len(body) and isinstance(body[index], ast.ImportFrom) \
            and body[index].module == "__future__":
        index += 1
    return body[min(index, len(body) - 1)]


program_params = [pytest.param(source, id=name) for name, source in PROGRAMS.items()]


@pytest.mark.parametrize("source", program_params)
def test_every_line_with_code_keeps_code(source):
    _, plain, rewritten = _compile_both(source)
    plain_codes, rewritten_codes = _by_key(plain), _by_key(rewritten)
    assert sorted(rewritten_codes) == sorted(plain_codes)
    for key, code in plain_codes.items():
        missing = _lines(code) - _lines(rewritten_codes[key])
        assert not missing, f"{key}: lines {sorted(missing)} lost their code"


@pytest.mark.parametrize("source", program_params)
def test_no_instruction_points_outside_its_statements(source):
    tree, plain, rewritten = _compile_both(source)
    plain_codes = _by_key(plain)
    for key, code in _by_key(rewritten).items():
        allowed = _innermost_statement_spans(tree, _lines(plain_codes[key]))
        outside = sorted({
            span for span in _spans(code)
            if not any(first <= span[0] and span[1] <= last for first, last in allowed)
        })
        assert not outside, f"{key}: instructions at lines {outside}, statements at {allowed}"


def _preamble_lines(code: types.CodeType) -> tuple[set[int | None], set[int | None]]:
    """Lines of the preamble's instructions, and of those that run before it."""
    lines = _line_of_offsets(code)
    instructions = list(dis.get_instructions(code))
    start = next(i for i, ins in enumerate(instructions)
                 if ins.opname == "IMPORT_NAME" and ins.argval == "autofuture.runtime.abi")
    enter = next(i for i, ins in enumerate(instructions)
                 if i > start and ins.argval == "enter_module")
    end = next(i for i, ins in enumerate(instructions) if i > enter and ins.opname == "POP_TOP")
    # The import's level and fromlist are loaded just before IMPORT_NAME.
    assert [ins.opname for ins in instructions[start - 2:start]] == ["LOAD_CONST"] * 2
    start -= 2
    return ({lines[ins.offset] for ins in instructions[start:end + 1]},
            {lines[ins.offset] for ins in instructions[:start]
             if ins.opname not in ("RESUME", "SETUP_ANNOTATIONS")} - {None, 0})


@pytest.mark.parametrize("source", program_params)
def test_preamble_takes_the_first_statements_place(source):
    tree, _, rewritten = _compile_both(source)
    first = _first_statement(tree)
    preamble, before = _preamble_lines(rewritten)
    assert min(preamble) == first.lineno
    assert preamble <= set(range(first.lineno, first.end_lineno + 1))
    # Only the docstring and __future__ imports run before it.
    assert all(line < first.lineno for line in before)


def test_preamble_line_of_a_spread_module():
    tree, _, _ = _compile_both(SPREAD)
    assert _first_statement(tree).lineno == 7


def _runtime_lookups(code: types.CodeType) -> list[tuple[int | None, int | None, str]]:
    """(line of ``__af__``, line of ``.name``, name) for each lookup of a runtime function."""
    lines = _line_of_offsets(code)
    instructions = list(dis.get_instructions(code))
    return [(lines[load.offset], lines[attr.offset], attr.argval)
            for load, attr in zip(instructions, instructions[1:], strict=False)
            if load.argval == "__af__" and load.opname.startswith("LOAD_")]


@pytest.mark.parametrize("source", [pytest.param(SPREAD, id="spread"),
                                    pytest.param(STATEMENTS, id="statements")])
def test_runtime_lookups_stay_on_the_constructs_first_line(source):
    _, _, rewritten = _compile_both(source)
    lookups = [lookup for code in _code_objects(rewritten) for lookup in _runtime_lookups(code)]
    assert lookups
    assert [lookup for lookup in lookups if lookup[0] != lookup[1]] == []


CALL_OPS = {"CALL", "CALL_KW", "CALL_FUNCTION_EX"}
# Reads and operators that the rewrite turns into calls located where they were.
READ_OPS = {
    "BINARY_OP", "BINARY_SUBSCR", "BINARY_SLICE", "COMPARE_OP", "IS_OP", "CONTAINS_OP",
    "UNARY_NEGATIVE", "UNARY_INVERT", "UNARY_NOT", "UNARY_POSITIVE", "FORMAT_VALUE",
    "FORMAT_SIMPLE", "FORMAT_WITH_SPEC", "CONVERT_VALUE", "BUILD_STRING", "GET_ITER",
    "FOR_ITER", "BUILD_LIST", "BUILD_SET", "BUILD_MAP", "DICT_MERGE", "DICT_UPDATE",
}


def _missing_positions(source: str, opnames: set[str]) -> list[tuple]:
    _, plain, rewritten = _compile_both(source)
    rewritten_codes = _by_key(rewritten)
    missing = []
    for key, code in _by_key(plain).items():
        have = {tuple(p) for p in rewritten_codes[key].co_positions()}
        for ins in dis.get_instructions(code):
            position = tuple(ins.positions)
            if ins.opname in opnames and position[0] and position not in have:
                missing.append((key[0], ins.opname, ins.argrepr, position))
    return missing


def _count(source: str, opnames: set[str]) -> int:
    _, plain, _ = _compile_both(source)
    return sum(ins.opname in opnames for code in _code_objects(plain)
               for ins in dis.get_instructions(code))


@needs_positions
@pytest.mark.parametrize("source", program_params)
def test_call_positions_survive(source):
    assert _count(source, CALL_OPS) > 0
    assert _missing_positions(source, CALL_OPS) == []


@needs_positions
@pytest.mark.parametrize("source", [pytest.param(EXPRESSIONS, id="expressions"),
                                    pytest.param(SPREAD, id="spread")])
def test_read_and_operator_positions_survive(source):
    assert _count(source, READ_OPS) > 0
    assert _missing_positions(source, READ_OPS) == []


TARGET_OPS = {"STORE_ATTR", "STORE_SUBSCR", "STORE_SLICE", "DELETE_ATTR", "DELETE_SUBSCR",
              "BINARY_SUBSCR", "LOAD_ATTR", "LOAD_METHOD"}

TARGETS = [
    pytest.param("obj.x = f(1)\n", id="attribute-assignment"),
    pytest.param("d[k] = f(1)\n", id="item-assignment"),
    pytest.param("xs[1:2] = f(1)\n", id="slice-assignment"),
    pytest.param("del obj.x\n", id="attribute-deletion"),
    pytest.param("del d[k]\n", id="item-deletion"),
    pytest.param("obj.n += f(1)\n", id="augmented-attribute"),
    pytest.param("d[k] += f(1)\n", id="augmented-item"),
    pytest.param("r = obj.method(1)\n", id="method-lookup"),
    pytest.param("r = obj.inner.method(f(1)).other()\n", id="method-lookup-chain"),
]


@needs_positions
@pytest.mark.parametrize("source", TARGETS)
def test_target_positions_survive(source):
    assert _count(source, TARGET_OPS) > 0
    assert _missing_positions(source, TARGET_OPS) == []


def test_rewritten_statements_stay_within_the_statement_they_replace():
    """Each rewritten top-level statement, with every node in it, lies within one original."""
    for name, source in PROGRAMS.items():
        original = ast.parse(_source(source))
        module = rewrite_module(ast.parse(_source(source)), FILENAME)
        spans = [_span(s) for s in original.body]
        at = 0
        for stmt in module.body:
            lines = [(n.lineno, n.end_lineno) for n in ast.walk(stmt) if hasattr(n, "lineno")]
            first, last = min(a for a, _ in lines), max(b for _, b in lines)
            while at < len(spans) and not (spans[at][0] <= first and last <= spans[at][1]):
                at += 1
            assert at < len(spans), f"{name}: {ast.unparse(stmt)!r} at {first}-{last}"


# -- tracebacks: run plainly and rewritten, compare ------------------------------------------

FRAME = re.compile(r'^  File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<name>.+)$')
CARETS = re.compile(r"^\s*[\^~]+\s*$")
ENV = {"PYTHON_COLORS": "0", "NO_COLOR": "1"}


def _last_traceback(stderr: str) -> tuple[list[tuple[str, int, str, tuple[str, ...]]], str]:
    """The frames (file basename, line, name, printed lines) and error of the last traceback."""
    lines = stderr.splitlines()
    starts = [i for i, line in enumerate(lines) if line == e2e.TRACEBACK_HEADER]
    assert starts, f"no traceback in:\n{stderr}"
    frames: list = []
    error = ""
    for line in lines[starts[-1] + 1:]:
        match = FRAME.match(line)
        if match:
            frames.append([os.path.basename(match["file"]), int(match["line"]), match["name"],
                           []])
        elif line.startswith("    ") and frames:
            frames[-1][3].append(line)
        else:
            error = line
            break
    return [(f, n, name, tuple(printed)) for f, n, name, printed in frames], error


def _innermost_user_frame(frames, program: str):
    return [frame for frame in frames if frame[0] == program][-1]


def _run_both(tmp_path, source: str):
    program = tmp_path / FILENAME
    program.write_text(_source(source))
    plain = e2e.run_plain(program, env=ENV)
    fut = e2e.run_autofuture(program, "serial", workers=1, env=ENV)
    return plain, fut


def _assert_same_traceback(tmp_path, source: str, line: int, error: str) -> None:
    plain, fut = _run_both(tmp_path, source)
    assert plain.returncode == 1, plain.stderr
    assert fut.returncode == 1, fut.stderr
    assert fut.stdout == plain.stdout
    plain_frames, plain_error = _last_traceback(plain.stderr)
    fut_frames, fut_error = _last_traceback(fut.stderr)
    # The program raises where the case says it does.
    assert plain_error == error
    assert _innermost_user_frame(plain_frames, FILENAME)[1] == line
    # The same frames, the same error, the same source and carets under the innermost frame.
    assert [f[:3] for f in fut_frames] == [f[:3] for f in plain_frames], fut.stderr
    assert fut_error == plain_error
    assert _innermost_user_frame(fut_frames, FILENAME)[3] == \
        _innermost_user_frame(plain_frames, FILENAME)[3], fut.stderr


@pytest.mark.parametrize(("source", "line", "error"),
                         [pytest.param(*case, id=name) for name, case in TRACEBACKS.items()])
def test_traceback_matches_plain_python(tmp_path, source, line, error):
    _assert_same_traceback(tmp_path, source, line, error)


@pytest.mark.skipif(not POSITIONS, reason="Python prints carets from 3.11 on")
def test_carets_are_compared_at_all(tmp_path):
    """The caret comparison is not vacuous: the plain run does draw them here."""
    source, _, _ = TRACEBACKS["dict-read-key-error"]
    plain, fut = _run_both(tmp_path, source)
    frames, _ = _last_traceback(plain.stderr)
    printed = _innermost_user_frame(frames, FILENAME)[3]
    assert any(CARETS.match(line) for line in printed), plain.stderr
    fut_frames, _ = _last_traceback(fut.stderr)
    assert _innermost_user_frame(fut_frames, FILENAME)[3] == printed


def test_a_trampoline_is_the_code_compiled_at_the_call_site():
    # A deferred local call runs in a frame at the user's file and line
    # (warnings.warn and inspect see it); the code is moved there rather
    # than compiled there, and must be the same code.
    from autofuture.runtime import tracebacks as _tb
    def user_frame():
        return sys._getframe()

    frame = user_frame()
    for lineno in (1, 2, 417):
        code = _tb._trampoline_at(frame, lineno).__code__
        source = "\n" * (lineno - 1) + "def call(fn, args, kwargs): return fn(*args, **kwargs)"
        module = compile(source, frame.f_code.co_filename, "exec")
        compiled = next(c for c in module.co_consts if isinstance(c, types.CodeType))
        assert code == compiled.replace(co_name="user_frame")
        assert (code.co_filename, code.co_firstlineno) == (compiled.co_filename, lineno)
        assert getattr(code, "co_qualname", None) == getattr(compiled, "co_qualname", None)
        positions = "co_positions" if sys.version_info >= (3, 11) else "co_lines"
        assert list(getattr(code, positions)()) == list(getattr(compiled, positions)())
        assert code in _tb._trampolines
