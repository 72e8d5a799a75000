"""The load-time binding checker: snippets in, (code, line, column) out.

Each table is one family of constructs. Columns are 0-based, as ``ast`` and
``Problem.col`` give them; lines are 1-based. Snippets are dedented and lose
their first newline, so line 1 is the first line written.
"""

from __future__ import annotations

import ast
import sys
import textwrap

import pytest

from autofuture._errors import ArityError, RebindError
from autofuture.language.check import check_module


def _source(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def problems(text: str):
    return check_module(ast.parse(_source(text)), "m.py")


def found(text: str) -> list[tuple[str, int, int]]:
    return [(p.code, p.lineno, p.col) for p in problems(text)]


def case(name: str, text: str, expected: list[tuple[str, int, int]], marks=()):
    return pytest.param(text, expected, id=name, marks=marks)


def run_table(text: str, expected: list[tuple[str, int, int]]) -> None:
    assert found(text) == expected


ASSIGNMENT = [
    case("distinct-names", "x = 1\ny = x + 1\n", []),
    case("rebind", "x = 5\nx = 6\n", [("AF101", 2, 0)]),
    case("rebind-reading-itself", "x = 1\nx = x + 1\n", [("AF101", 2, 0)]),
    case("tuple-target", "a, b = 1, 2\nc, a = 3, 4\n", [("AF101", 2, 3)]),
    case("list-target", "[a, b] = xs\nb = 1\n", [("AF101", 2, 0)]),
    case("starred-target", "first, *rest = xs\nrest = []\n", [("AF101", 2, 0)]),
    case("nested-target", "(a, (b, c)) = xs\nc = 1\n", [("AF101", 2, 0)]),
    case("chained", "a = b = 1\nb = 2\n", [("AF101", 2, 0)]),
    case("three-bindings-cite-first", "x = 1\nx = 2\nx = 3\n",
         [("AF101", 2, 0), ("AF101", 3, 0)]),
    case("attribute-and-item-are-mutations", """
        obj = make()
        obj.x = 1
        obj.x = 2
        d = {}
        d["k"] = 1
        d["k"] = 2
        """, []),
]


AUGMENTED = [
    case("name", "total = 0\ntotal += 1\n", [("AF105", 2, 0)]),
    case("unbound-name", "x -= 1\n", [("AF105", 1, 0)]),
    case("in-loop", "total = 0\nfor x in xs:\n    total += x\n", [("AF105", 3, 4)]),
    case("attribute-and-item", "obj = make()\nobj.n += 1\nd = {}\nd[k] += 1\n", []),
]


ANNOTATED = [
    case("with-value-twice", "x: int = 1\nx: int = 2\n", [("AF101", 2, 0)]),
    case("declaration-does-not-bind", "x: int\nx = 1\n", []),
    case("declaration-after-binding", "x = 1\nx: int\n", []),
    case("value-then-plain", "x: int = 1\nx = 2\n", [("AF101", 2, 0)]),
    case("attribute", "obj.a: int = 1\nobj.a: int = 2\n", []),
]


FOR = [
    case("target-reused-by-later-loop", """
        for i in range(3):
            pass
        for i in range(4):
            pass
        """, []),
    case("target-bound-before", "i = 0\nfor i in range(3):\n    pass\n", [("AF102", 2, 4)]),
    case("accumulator", "total = 0\nfor x in xs:\n    total = total + x\n", [("AF102", 3, 4)]),
    case("twice-in-one-iteration", "for x in xs:\n    y = x\n    y = 2\n", [("AF101", 3, 4)]),
    case("tuple-target-twice", "for a, a in pairs:\n    pass\n", [("AF101", 1, 7)]),
    case("body-names-reused-by-later-loop", """
        for x in xs:
            y = x
        for x in xs:
            y = x
        """, []),
    case("nested-inner-loops", """
        for row in rows:
            for cell in row:
                pass
            for cell in row:
                pass
        """, []),
    case("else-is-not-the-body", "for x in xs:\n    pass\nelse:\n    done = 1\nprint(done)\n",
         []),
    case("outer-loop-name-in-inner-loop", """
        for row in rows:
            width = 0
            for cell in row:
                width = cell
        """, [("AF102", 4, 8)]),
]


WHILE = [
    case("counter", "i = 0\nwhile i < 3:\n    i = i + 1\n", [("AF102", 3, 4)]),
    case("fresh-each-iteration", "while more():\n    item = take()\n    print(item)\n", []),
    case("reused-by-later-loop", """
        while more():
            item = take()
        while more():
            item = take()
        """, []),
    case("test-reads-body-name", "while n > 0:\n    n = step()\n", [("AF111", 1, 6)]),
]


WITH = [
    case("body-names-outlive-block", "with open(a) as fh:\n    data = fh.read()\nprint(data)\n",
         []),
    case("as-name-reused-by-later-block", """
        with open(a) as fh:
            pass
        with open(b) as fh:
            pass
        """, []),
    case("as-name-bound-before", "fh = 1\nwith open(a) as fh:\n    pass\n", [("AF101", 2, 16)]),
    case("as-name-rebound-inside", "with open(a) as fh:\n    fh = 2\n", [("AF101", 2, 4)]),
    case("two-items-same-name", "with a() as x, b() as x:\n    pass\n", [("AF101", 1, 22)]),
    case("tuple-as-target", "with pair() as (x, y):\n    pass\ny = 1\n", []),
]


EXCEPT = [
    case("body-names-outlive-handler", """
        try:
            pass
        except ValueError as e:
            message = str(e)
        print(message)
        """, []),
    case("two-handlers-same-name", """
        try:
            pass
        except ValueError as e:
            pass
        except TypeError as e:
            pass
        """, []),
    case("two-tries-same-name", """
        try:
            pass
        except ValueError as e:
            pass
        try:
            pass
        except ValueError as e:
            pass
        """, []),
    case("as-name-bound-before", """
        e = 1
        try:
            pass
        except ValueError as e:
            pass
        """, [("AF101", 4, 21)]),
    case("tuple-of-types", """
        error = 1
        try:
            pass
        except (KeyError, ValueError) as error:
            pass
        """, [("AF101", 4, 33)]),
]


WALRUS = [
    case("reuses-bound-name", "x = 1\nif (x := 2):\n    pass\n", [("AF101", 2, 4)]),
    case("new-name", "if (m := match()):\n    print(m)\n", []),
    case("in-comprehension-binds-enclosing", "y = 0\nys = [(y := v) for v in vs]\n",
         [("AF101", 2, 7)]),
    case("in-comprehension-readable-after", "ys = [(y := f(v)) for v in vs]\nprint(y)\n", []),
    case("conditional-expression-arms", "v = (w := 1) if a else (w := 2)\n", []),
    case("in-loop-is-loop-local", "for v in vs:\n    (w := v)\nw = 1\n", []),
]


IMPORTS = [
    case("same-module-twice", "import os\nimport os\n", []),
    case("submodule-then-package", "import os.path\nimport os\n", []),
    case("two-submodules", "import os.path\nimport xml.dom\nimport os.sep\n", []),
    case("from-import-twice", "from m import a\nfrom m import a\n", []),
    case("same-object-two-spellings", "from os import path\nimport os.path as path\n", []),
    case("other-module-same-alias", "import json\nimport ujson as json\n", [("AF104", 2, 7)]),
    case("from-two-modules", "from a import x\nfrom b import x\n", [("AF104", 2, 14)]),
    case("try-except-import-error", """
        try:
            import ujson as json
        except ImportError:
            import json
        """, []),
    case("if-else-import", "if fast:\n    import ujson as json\nelse:\n    import json\n", []),
    case("assign-after-import", "import os\nos = 1\n", [("AF101", 2, 0)]),
    case("import-after-assign", "json = None\nimport json\n", [("AF104", 2, 7)]),
    case("relative-twice", "from . import util\nfrom . import util\n", []),
]


DEF_AND_CLASS = [
    case("def-twice", "def f():\n    pass\ndef f():\n    pass\n", [("AF103", 3, 0)]),
    case("async-def-twice", "async def f():\n    pass\nasync def f():\n    pass\n",
         [("AF103", 3, 0)]),
    case("def-in-exclusive-arms", "if x:\n    def f(): pass\nelse:\n    def f(): pass\n", []),
    case("def-over-assignment", "f = 1\ndef f(): pass\n", [("AF103", 2, 0)]),
    case("assignment-over-def", "def f(): pass\nf = 1\n", [("AF101", 2, 0)]),
    case("decorated-def", "@dec\ndef f(): pass\n@dec\ndef f(): pass\n", [("AF103", 4, 0)]),
    case("class-twice", "class C:\n    pass\nclass C:\n    pass\n", [("AF103", 3, 0)]),
    case("class-then-def", "class C: pass\ndef C(): pass\n", [("AF103", 2, 0)]),
    case("type-alias", "type Vector = list[float]\nVector = 1\n", [("AF101", 2, 0)],
         marks=pytest.mark.skipif(sys.version_info < (3, 12), reason="type is 3.12+")),
]


DELETE = [
    case("name", "x = 1\ndel x\n", [("AF106", 2, 4)]),
    case("several-names", "del a, b\n", [("AF106", 1, 4), ("AF106", 1, 7)]),
    case("item-and-attribute", "d = {}\ndel d[k]\nobj = make()\ndel obj.a\n", []),
]


GLOBAL_NONLOCAL_STAR = [
    case("global-at-top-level", "global x\n", [("AF107", 1, 0)]),
    case("global-in-workflow", """
        import autofuture
        @autofuture.workflow
        def main():
            global x
            x = 1
        """, [("AF107", 4, 4)]),
    case("nonlocal-in-nested-workflow", """
        import autofuture
        @autofuture.workflow
        def outer():
            y = 1
            @autofuture.workflow
            def inner():
                nonlocal y
        """, [("AF108", 7, 8)]),
    case("import-star", "from m import *\n", [("AF109", 1, 0)]),
    case("relative-import-star", "from .m import *\n", [("AF109", 1, 0)]),
]


MATCH = [
    case("capture-reuses-name", "x = 1\nmatch v:\n    case [x, y]:\n        pass\n",
         [("AF101", 3, 10)]),
    case("cases-are-exclusive", """
        match v:
            case [a, b]:
                pass
            case {"a": a, "b": b}:
                pass
            case Point(x=a, y=b):
                pass
        """, []),
    case("or-pattern-alternatives", "match v:\n    case [a] | (a, _):\n        pass\n", []),
    case("star-capture", "match v:\n    case [a, *rest]:\n        pass\nrest = 1\n",
         [("AF101", 4, 0)]),
    case("as-capture-position", "whole = 1\nmatch v:\n    case [a, b] as whole:\n        pass\n",
         [("AF101", 3, 19)]),
    case("mapping-rest", "match v:\n    case {**rest}:\n        pass\nrest = 1\n",
         [("AF101", 4, 0)]),
    case("wildcard-binds-nothing", "match v:\n    case _:\n        pass\n_ = 1\nx = 1\n", []),
    case("capture-twice-in-one-case", "match v:\n    case [a, *a]:\n        pass\n",
         [("AF101", 2, 14)]),
    case("value-pattern-reads", "for c in cs:\n    pass\nmatch v:\n    case c.RED:\n        pass\n",
         [("AF110", 4, 9)]),
]


COMPREHENSIONS = [
    case("two-use-same-target", "a = [x for x in xs]\nb = {x for x in ys}\n", []),
    case("target-shadows-outer-name", "x = 1\nsquares = [x * x for x in xs]\n", []),
    case("dict-and-generator", "d = {k: v for k, v in items}\ng = list(k for k in d)\n", []),
    case("nested-comprehensions", "m = [[x for x in row] for x in rows]\n", []),
    case("same-target-twice", "pairs = [x for x in xs for x in ys]\n", [("AF101", 1, 27)]),
]


EXCLUSIVE_IF = [
    case("if-elif-else", "if a:\n    x = 1\nelif b:\n    x = 2\nelse:\n    x = 3\nprint(x)\n",
         []),
    case("nested-arms", """
        if a:
            if b:
                x = 1
            else:
                x = 2
        else:
            x = 3
        """, []),
    case("after-the-if", "if a:\n    x = 1\nx = 2\n", [("AF101", 3, 0)]),
    case("two-ifs", "if a:\n    x = 1\nif b:\n    x = 2\n", [("AF101", 4, 4)]),
    case("one-arm-twice", "if a:\n    x = 1\n    x = 2\n", [("AF101", 3, 4)]),
    case("before-the-if", "x = 1\nif a:\n    x = 2\nelse:\n    x = 3\n",
         [("AF101", 3, 4), ("AF101", 5, 4)]),
]


TRY = [
    case("body-vs-handler", "try:\n    x = f()\nexcept E:\n    x = None\n", []),
    case("handler-vs-handler", """
        try:
            pass
        except A:
            x = 1
        except B:
            x = 2
        """, []),
    case("else-conflicts-with-body", """
        try:
            x = f()
        except E:
            pass
        else:
            x = 2
        """, [("AF101", 6, 4)]),
    case("else-exclusive-with-handler", """
        try:
            pass
        except E:
            x = 1
        else:
            x = 2
        """, []),
    case("finally-conflicts-with-body", "try:\n    x = 1\nfinally:\n    x = 2\n",
         [("AF101", 4, 4)]),
    case("finally-conflicts-with-handler", """
        try:
            pass
        except E:
            x = 1
        finally:
            x = 2
        """, [("AF101", 6, 4)]),
    case("after-the-try", "try:\n    x = 1\nexcept E:\n    x = 2\nx = 3\n", [("AF101", 5, 0)]),
    case("try-star", "try:\n    x = 1\nexcept* E:\n    x = 2\nx = 3\n", [("AF101", 5, 0)],
         marks=pytest.mark.skipif(sys.version_info < (3, 11), reason="except* is 3.11+")),
    case("handler-cannot-see-other-handler-in-loop", """
        for v in vs:
            try:
                pass
            except A:
                y = 1
            except B:
                print(y)
        """, [("AF111", 7, 14)]),
    case("handler-reads-body-name-in-loop", """
        for v in vs:
            try:
                r = f(v)
            except E:
                print(r)
        """, []),
]


BLOCK_SCOPE = [
    case("loop-body-name-after-loop", "for i in xs:\n    last = i\nprint(last)\n",
         [("AF110", 3, 6)]),
    case("loop-target-after-loop", "for i in xs:\n    pass\nprint(i)\n", [("AF110", 3, 6)]),
    case("loop-target-in-loop-else", "for i in xs:\n    pass\nelse:\n    print(i)\n",
         [("AF110", 4, 10)]),
    case("while-body-name-after-loop", "while more():\n    item = take()\nprint(item)\n",
         [("AF110", 3, 6)]),
    case("with-name-after-block", "with open(a) as fh:\n    pass\nprint(fh)\n",
         [("AF110", 3, 6)]),
    case("except-name-after-handler", """
        try:
            pass
        except ValueError as e:
            pass
        print(e)
        """, [("AF110", 5, 6)]),
    case("inner-loop-name-in-outer-loop", """
        for row in rows:
            for cell in row:
                pass
            print(cell)
        """, [("AF110", 4, 10)]),
    case("rebound-after-block", "for i in xs:\n    pass\ni = 0\nprint(i)\n", []),
    case("read-in-loop-before-bound", "for x in xs:\n    print(prev)\n    prev = x\n",
         [("AF111", 2, 10)]),
    case("read-in-other-arm-than-binding", """
        for x in xs:
            if x:
                y = 1
            else:
                print(y)
        """, [("AF111", 5, 14)]),
    case("read-in-inner-loop-bound-in-outer", """
        for a in xs:
            for b in ys:
                print(c)
            c = a
        """, [("AF111", 3, 14)]),
    case("read-after-bound-in-iteration", "for x in xs:\n    y = x\n    print(y)\n", []),
    case("read-of-name-bound-after-loop", "for x in xs:\n    print(later)\nlater = 1\n", []),
]


UNDERSCORE = [
    case("rebound-freely", "_ = 1\n_ = 2\nfor _ in xs:\n    pass\n_, b = pair\n_, c = pair\n",
         []),
    case("read", "_ = f()\nprint(_)\n", [("AF112", 2, 6)]),
    case("read-in-comprehension", "[_ for _ in xs]\n", [("AF112", 1, 1)]),
    case("gettext-style-call", "from gettext import gettext as _\nt = _('text')\n",
         [("AF112", 2, 4)]),
]


WORKFLOW = [
    case("parameter-rebound", """
        import autofuture
        @autofuture.workflow
        def main(x):
            x = 1
        """, [("AF101", 4, 4)]),
    case("module-alias", """
        import autofuture as af
        @af.workflow
        def main():
            y = 1
            y = 2
        """, [("AF101", 5, 4)]),
    case("from-import", """
        from autofuture import workflow
        @workflow
        def main():
            y = 1
            y += 1
        """, [("AF105", 5, 4)]),
    case("from-import-alias", """
        from autofuture import workflow as wf
        @wf
        def main():
            y = 1
            y = 2
        """, [("AF101", 5, 4)]),
    case("loop-rules-apply", """
        import autofuture
        @autofuture.workflow
        def main(xs):
            total = 0
            for x in xs:
                total = total + x
            print(x)
        """, [("AF102", 6, 8), ("AF110", 7, 10)]),
    case("own-scope", """
        import autofuture
        x = 1
        @autofuture.workflow
        def main():
            x = 2
        @autofuture.workflow
        def other():
            x = 3
        """, []),
    case("other-decorator-is-ordinary", """
        import other
        @other.workflow
        def main():
            y = 1
            y = 2
        """, []),
    case("workflow-method-is-ordinary", """
        import autofuture
        class C:
            @autofuture.workflow
            def main(self):
                y = 1
                y = 2
        """, []),
]


ORDINARY = [
    case("function-body", """
        def f(xs):
            x = 1
            x = 2
            x += 1
            del x
            print(_)
            for i in xs:
                pass
            return i
        """, []),
    case("class-body", """
        class C:
            x = 1
            x = 2
            def m(self):
                y = 1
                y = 2
        """, []),
    case("lambda-body", "f = lambda: _\n", []),
    case("lambda-default-is-futurized", "g = lambda x=_: x\n", [("AF112", 1, 13)]),
    case("function-default-is-futurized", "def f(x=_):\n    pass\n", [("AF112", 1, 8)]),
]


ARITY_HEADER = """
    from typing import NamedTuple, Tuple
    import typing
    def three(x) -> tuple[int, int, int]:
        return x, x, x
    def pair(x) -> Tuple[int, int]:
        return x, x
    def pair2(x) -> typing.Tuple[int, int]:
        return x, x
    def quoted(x) -> "tuple[int, int]":
        return x, x
    def variadic(x) -> tuple[int, ...]:
        return (x,)
    class Point(NamedTuple):
        x: int
        y: int = 0
    class Point3(typing.NamedTuple):
        x: int
        y: int
        z: int
    Pair = NamedTuple("Pair", [("a", int), ("b", int)])
    def point(x) -> Point:
        return Point(x)
    def point3(x) -> Point3:
        return Point3(x, x, x)
    def make_pair(x) -> Pair:
        return Pair(x, x)
    """
ARITY_LINE = len(_source(ARITY_HEADER).splitlines()) + 1

ARITY = [
    case("tuple-matches", "a, b, c = three(1)", []),
    case("tuple-too-few", "a, b = three(1)", [("AF201", ARITY_LINE, 0)]),
    case("tuple-too-many", "a, b, c, d = three(1)", [("AF201", ARITY_LINE, 0)]),
    case("list-target", "[a, b] = three(1)", [("AF201", ARITY_LINE, 0)]),
    case("typing-Tuple", "a, b, c = pair(1)", [("AF201", ARITY_LINE, 0)]),
    case("typing-dot-Tuple", "a, b, c = pair2(1)", [("AF201", ARITY_LINE, 0)]),
    case("string-annotation", "a, b, c = quoted(1)", [("AF201", ARITY_LINE, 0)]),
    case("variadic-not-fixed", "a, b = variadic(1)", []),
    case("starred-fits", "a, *b = three(1)", []),
    case("starred-all-plain-fit", "a, b, c, *d = three(1)", []),
    case("starred-too-many", "a, b, c, d, *e = three(1)", [("AF201", ARITY_LINE, 0)]),
    case("namedtuple-class", "a, b, c = point(1)", [("AF201", ARITY_LINE, 0)]),
    case("namedtuple-class-matches", "a, b = point(1)", []),
    case("typing-namedtuple-base", "a, b = point3(1)", [("AF201", ARITY_LINE, 0)]),
    case("functional-namedtuple", "a, = make_pair(1)", [("AF201", ARITY_LINE, 0)]),
    case("chained-targets", "a, b, c = d, e = three(1)", [("AF201", ARITY_LINE, 10)]),
    case("for-target-not-covered", "for a, b in [three(1)]:\n    pass", []),
    case("method-call-not-covered", "a, b = obj.three(1)", []),
    case("function-body-not-checked", "def g():\n    a, b = three(1)", []),
    case("workflow-body-checked", "import autofuture\n@autofuture.workflow\ndef main():\n"
         "    a, b = three(1)", [("AF201", ARITY_LINE + 3, 4)]),
    case("workflow-local-shadows", "import autofuture\n@autofuture.workflow\n"
         "def main(three):\n    a, b = three(1)", []),
]


WARNINGS = [
    case("task-calls-module-function", """
        def helper(x):
            return x
        def outer(x):
            return helper(x)
        r = outer(1)
        s = outer(2)
        """, [("AF301", 5, 4)]),
    case("task-calls-in-workflow-body", """
        import autofuture
        def helper(x):
            return x
        def outer(x):
            return helper(x)
        @autofuture.workflow
        def main():
            return outer(1)
        """, [("AF301", 8, 11)]),
    case("workflow-is-not-warned", """
        import autofuture
        def helper(x):
            return x
        @autofuture.workflow
        def outer(x):
            return helper(x)
        r = outer(1)
        """, []),
    case("recursion-alone-is-not-warned", "def fib(n):\n    return fib(n - 1)\nr = fib(3)\n", []),
    case("shadowed-callee", """
        def helper(x):
            return x
        def outer(helper):
            return helper(1)
        r = outer(2)
        """, []),
    case("local-callee-is-not-a-task", """
        import autofuture
        @autofuture.local
        def helper(x):
            return x
        def outer(x):
            return helper(x)
        r = outer(1)
        """, []),
    case("generator-argument", "def f(x):\n    return x\ns = sum(f(x) for x in xs)\n",
         [("AF302", 3, 7)]),
    case("generator-keyword-argument", "m = max(xs, key=None, default=(f(x) for x in xs))\n",
         [("AF302", 1, 30)]),
    case("generator-without-calls", "s = sum(x for x in xs)\n", []),
    # any(), all() and next() stop at the element that decides: a list would make the
    # calls after it too, and next([...]) is a TypeError. Nothing to advise.
    case("generator-any", "ok = any(f(x) for x in xs)\n", []),
    case("generator-all", "ok = all(f(x) > 0 for x in xs)\n", []),
    case("generator-next", "first = next(x for x in xs if f(x))\n", []),
    case("generator-next-default", "first = next((f(x) for x in xs), None)\n", []),
    case("generator-join", "s = ', '.join(str(f(x)) for x in xs)\n", [("AF302", 1, 13)]),
    case("generator-shadowed-builtin", "def any(it):\n    return it\nok = any(f(x) for x in xs)\n",
         [("AF302", 3, 8)]),
    case("generator-unknown-consumer", "r = consume(f(x) for x in xs)\n", [("AF302", 1, 11)]),
    case("list-comprehension-argument", "s = sum([f(x) for x in xs])\n", []),
    case("generator-in-ordinary-function", "def g(xs):\n    return sum(f(x) for x in xs)\n", []),
    case("global-in-task", "def bump():\n    global counter\n    counter = 1\n",
         [("AF303", 2, 4)]),
    case("global-in-local-function", """
        import autofuture
        @autofuture.local
        def bump():
            global counter
            counter = 1
        """, []),
    case("global-in-generator", "def gen():\n    global c\n    yield 1\n", []),
    case("global-in-method", "class C:\n    def m(self):\n        global c\n", []),
]


# AF304: a task function changes the module's own state. Only where the changed
# expression starts from a name the module binds (not by import) and no scope in
# between binds that name itself.
MODULE_STATE = [
    case("method-call", "LOG = []\ndef record(x):\n    LOG.append(x)\n", [("AF304", 3, 4)]),
    case("every-changing-method", """
        S = set()
        D = {}
        def f(x):
            S.add(x)
            S.discard(x)
            D.update(a=1)
            D.setdefault("k", [])
            D.pop("k")
            D["q"].extend([x])
        """, [("AF304", 4, 4), ("AF304", 5, 4), ("AF304", 6, 4), ("AF304", 7, 4),
              ("AF304", 8, 4), ("AF304", 9, 4)]),
    case("item-attribute-augmented-del", """
        CACHE = {}
        class State:
            count = 0
        STATE = State()
        def remember(k, v):
            CACHE[k] = v
            STATE.count += 1
            STATE.last: int = v
            del CACHE["old"]
            del STATE.last
            STATE.items[0].extend([v])
            State.count = 0
        """, [("AF304", 6, 4), ("AF304", 7, 4), ("AF304", 8, 4), ("AF304", 9, 8),
              ("AF304", 10, 8), ("AF304", 11, 4), ("AF304", 12, 4)]),
    case("a-function-attribute", "def helper():\n    pass\ndef f():\n    helper.calls = 1\n",
         [("AF304", 4, 4)]),
    case("global-and-a-change", "LOG = []\ndef f(x):\n    global LOG\n    LOG.append(x)\n",
         [("AF303", 3, 4), ("AF304", 4, 4)]),
    case("nested-function-and-lambda", """
        LOG = []
        def f(x):
            def inner():
                LOG.append(x)
            g = lambda: LOG.clear()
            return inner, g
        """, [("AF304", 4, 8), ("AF304", 5, 16)]),
    case("in-a-comprehension", "LOG = []\ndef f(xs):\n    return [LOG.append(x) for x in xs]\n",
         [("AF304", 3, 12)]),
    # Not the module's state: nothing to say.
    case("a-parameter-shadows-it", "LOG = []\ndef f(LOG, x):\n    LOG.append(x)\n", []),
    case("a-local-shadows-it", """
        CACHE = {}
        def f(k):
            CACHE = {}
            CACHE[k] = 1
            return CACHE
        """, []),
    case("a-local-bound-later-shadows-it", """
        LOG = []
        def f(x):
            if x:
                LOG.append(x)
            LOG = [x]
            return LOG
        """, []),
    case("a-comprehension-target-shadows-it", """
        LOG = []
        def f(xs):
            return [LOG.append(1) for LOG in xs]
        """, []),
    case("an-inner-parameter-shadows-it", """
        CACHE = {}
        def f(x):
            clear = lambda CACHE: CACHE.clear()
            def put(CACHE):
                CACHE[x] = 1
            return clear, put
        """, []),
    case("an-inner-local-shadows-it", """
        LOG = []
        def f(x):
            def inner():
                LOG = []
                LOG.append(x)
                return LOG
            return inner()
        """, []),
    case("an-inner-global-undoes-the-outer-local", """
        LOG = []
        def f(x):
            LOG = None
            def inner():
                global LOG
                LOG.append(x)
            return inner, LOG
        """, [("AF303", 5, 8), ("AF304", 6, 8)]),
    case("an-imported-module", "import os\ndef f():\n    os.environ['X'] = '1'\n", []),
    case("an-imported-name", "from m import LOG\ndef f(x):\n    LOG.append(x)\n", []),
    case("a-builtin-or-unknown-name", "def f(x):\n    print.x = 1\n    UNKNOWN.append(x)\n", []),
    case("a-method-that-may-not-change", "LOG = []\ndef f():\n    return LOG.copy().append(1)\n",
         []),
    case("a-read", "LOG = []\ndef f():\n    return LOG[0], LOG.count(1), len(LOG)\n", []),
    case("a-local-function", """
        import autofuture
        LOG = []
        @autofuture.local
        def f(x):
            LOG.append(x)
        """, []),
    case("a-workflow", """
        import autofuture
        LOG = []
        @autofuture.workflow
        def f(x):
            LOG.append(x)
        """, []),
    case("a-generator-or-a-method", """
        LOG = []
        def gen(x):
            LOG.append(x)
            yield x
        class C:
            def m(self, x):
                LOG.append(x)
        """, []),
    case("the-top-level-itself", "LOG = []\nLOG.append(1)\n", []),
]


@pytest.mark.parametrize(("text", "expected"), MODULE_STATE)
def test_module_state(text, expected):
    run_table(text, expected)


def test_module_state_message_names_the_line_the_object_and_the_fix():
    text = "LOG = []\n\n\ndef record(x):\n    LOG.append(x)\n"
    [problem] = problems(text)
    assert problem.format() == (
        "m.py:5:5: AF304 'record' changes the module-level 'LOG' (LOG.append(...)), but as a "
        "task it runs on a worker, so the change stays in that worker's copy and the workflow "
        "never sees it. Return the value instead and use it where 'record' is called, or mark "
        "'record' with @autofuture.local to run it in the workflow process.")
    assert problem.warning and problem.scope == 4
    decorated = "import autofuture\nLOG = []\n@autofuture.task(retries=1)\ndef f(x):\n" \
                "    LOG.append(x)\n"
    [problem] = problems(decorated)
    assert problem.scope == 3  # the function's first line, as its code object has it


@pytest.mark.parametrize(("text", "expected"), ASSIGNMENT)
def test_assignment(text, expected):
    run_table(text, expected)


@pytest.mark.parametrize(("text", "expected"), AUGMENTED)
def test_augmented_assignment(text, expected):
    run_table(text, expected)


@pytest.mark.parametrize(("text", "expected"), ANNOTATED)
def test_annotated_assignment(text, expected):
    run_table(text, expected)


@pytest.mark.parametrize(("text", "expected"), FOR)
def test_for(text, expected):
    run_table(text, expected)


@pytest.mark.parametrize(("text", "expected"), WHILE)
def test_while(text, expected):
    run_table(text, expected)


@pytest.mark.parametrize(("text", "expected"), WITH)
def test_with_as(text, expected):
    run_table(text, expected)


@pytest.mark.parametrize(("text", "expected"), EXCEPT)
def test_except_as(text, expected):
    run_table(text, expected)


@pytest.mark.parametrize(("text", "expected"), WALRUS)
def test_walrus(text, expected):
    run_table(text, expected)


@pytest.mark.parametrize(("text", "expected"), IMPORTS)
def test_imports(text, expected):
    run_table(text, expected)


@pytest.mark.parametrize(("text", "expected"), DEF_AND_CLASS)
def test_def_and_class(text, expected):
    run_table(text, expected)


@pytest.mark.parametrize(("text", "expected"), DELETE)
def test_del(text, expected):
    run_table(text, expected)


@pytest.mark.parametrize(("text", "expected"), GLOBAL_NONLOCAL_STAR)
def test_global_nonlocal_and_import_star(text, expected):
    run_table(text, expected)


@pytest.mark.parametrize(("text", "expected"), MATCH)
def test_match_captures(text, expected):
    run_table(text, expected)


@pytest.mark.parametrize(("text", "expected"), COMPREHENSIONS)
def test_comprehensions(text, expected):
    run_table(text, expected)


@pytest.mark.parametrize(("text", "expected"), EXCLUSIVE_IF)
def test_exclusive_if_branches(text, expected):
    run_table(text, expected)


@pytest.mark.parametrize(("text", "expected"), TRY)
def test_try_body_handlers_else_finally(text, expected):
    run_table(text, expected)


@pytest.mark.parametrize(("text", "expected"), BLOCK_SCOPE)
def test_block_scoped_names(text, expected):
    run_table(text, expected)


@pytest.mark.parametrize(("text", "expected"), UNDERSCORE)
def test_underscore(text, expected):
    run_table(text, expected)


@pytest.mark.parametrize(("text", "expected"), WORKFLOW)
def test_workflow_bodies(text, expected):
    run_table(text, expected)


@pytest.mark.parametrize(("text", "expected"), ORDINARY)
def test_ordinary_bodies_not_checked(text, expected):
    run_table(text, expected)


@pytest.mark.parametrize(("text", "expected"), ARITY)
def test_arity(text, expected):
    run_table(_source(ARITY_HEADER) + _source(text), expected)


@pytest.mark.parametrize(("text", "expected"), WARNINGS)
def test_warnings(text, expected):
    run_table(text, expected)


# -- the problem records ---------------------------------------------------------

def test_rebinding_message_names_both_places_and_an_idiom():
    [problem] = problems("total = 0\nx = 1\ntotal = 3\n")
    assert "'total'" in problem.message
    assert "line 3" not in problem.message, "the second place is the problem's own position"
    assert "first bound at line 1, column 1" in problem.message
    assert "'total2'" in problem.message
    assert problem.format().startswith("m.py:3:1: AF101 name 'total' is bound again here")


@pytest.mark.parametrize(("text", "fragments"), [
    pytest.param("total = 0\nfor x in xs:\n    total = total + x\n",
                 ["'total'", "line 1, column 1", "the for loop at line 2", "sum(...)",
                  "functools.reduce", "itertools.accumulate", "comprehension"], id="AF102"),
    pytest.param("def f(): pass\ndef f(): pass\n",
                 ["function 'f'", "line 1, column 1", "'f2'"], id="AF103"),
    pytest.param("import json\nimport ujson as json\n",
                 ["'json'", "line 1, column 8", "as json2", "try/except ImportError"],
                 id="AF104"),
    pytest.param("step1 = 0\nstep1 += 1\n",
                 ["'step1'", "line 1, column 1", "'step1_2 = step1 + ...'", "sum(...)"],
                 id="AF105"),
    pytest.param("x = 1\ndel x\n", ["'del x'", "line 1, column 1"], id="AF106"),
    pytest.param("global x, y\n", ["'global x, y'", "remove it"], id="AF107"),
    pytest.param("from m import *\n", ["'from m import *'", "from m import a, b"], id="AF109"),
    pytest.param("for i in xs:\n    last = i\nprint(last)\n",
                 ["'last'", "line 2, column 5", "the for loop at line 1", "comprehension"],
                 id="AF110-loop"),
    pytest.param("with open(p) as fh:\n    pass\nprint(fh)\n",
                 ["'fh'", "line 1, column 17", "the with block at line 1", "new name"],
                 id="AF110-with"),
    pytest.param("try:\n    pass\nexcept E as err:\n    pass\nprint(err)\n",
                 ["'err'", "line 3, column 13", "the except handler at line 3", "str(err)"],
                 id="AF110-except"),
    pytest.param("for x in xs:\n    print(prev)\n    prev = x\n",
                 ["'prev'", "line 3, column 5", "the for loop at line 1", "itertools.pairwise"],
                 id="AF111"),
    pytest.param("_ = 1\n_ = 2\nprint(_)\n", ["'_'", "last bound at line 2, column 1",
                                                 "real name"], id="AF112"),
    pytest.param("def f() -> tuple[int, int, int]: ...\na, b = f()\n",
                 ["2 names", "f(...)", "line 1", "tuple[int, int, int]", "3 values",
                  "Unpack 3 names"], id="AF201"),
    pytest.param("def f() -> tuple[int, int]: ...\na, b, c, *d = f()\n",
                 ["3 names besides the starred one", "at most 2 names"], id="AF201-starred"),
    pytest.param("def g(): pass\ndef f():\n    return g()\nf()\n",
                 ["'f'", "'g' (line 3)", "@autofuture.workflow"], id="AF301"),
    pytest.param("s = sum(f(x) for x in xs)\n", ["sum([...])", "list comprehension",
                                                "takes every element", "the same ones"],
                 id="AF302"),
    pytest.param("s = sorted((f(x) for x in xs), key=abs)\n", ["sorted([...])"],
                 id="AF302-with-keywords"),
    pytest.param("r = consume(f(x) for x in xs)\n",
                 ["if consume() takes every element", "may stop early",
                  "calls the plain run never makes would run"], id="AF302-unknown-consumer"),
    pytest.param("m = max(xs, default=(f(x) for x in xs))\n",
                 ["if max() takes every element", "keeps the generator"],
                 id="AF302-not-the-iterable"),
    pytest.param("m = max(ys, (f(x) for x in xs))\n", ["if max() takes every element"],
                 id="AF302-second-argument"),
    pytest.param("def f():\n    global n\n",
                 ["'f'", "'global n'", "worker", "@autofuture.local"], id="AF303"),
])
def test_messages_say_where_and_what_instead(text, fragments):
    [problem] = problems(text)
    for fragment in fragments:
        assert fragment in problem.message


def test_to_error_gives_a_rebind_error_with_positions():
    text = "count = 0\nif ok:\n    count = 1\n"
    [problem] = problems(text)
    error = problem.to_error(text.splitlines())
    assert type(error) is RebindError
    assert isinstance(error, SyntaxError)
    assert (error.lineno, error.offset, error.end_lineno, error.end_offset) == (3, 5, 3, 10)
    assert error.filename == "m.py"
    assert error.text == "    count = 1"
    assert "AF101" in str(error)


def test_to_error_of_an_arity_problem_is_an_arity_error():
    text = "def f() -> tuple[int, int]: ...\na, b, c = f()\n"
    [problem] = problems(text)
    error = problem.to_error(text.splitlines())
    assert type(error) is ArityError
    assert (error.lineno, error.offset, error.end_lineno, error.end_offset) == (2, 1, 2, 8)


@pytest.mark.parametrize(("text", "span"), [
    pytest.param("def f(): pass\ndef f(): pass\n", (2, 0, 2, 5), id="def-name"),
    pytest.param("class C: pass\nclass C: pass\n", (2, 0, 2, 7), id="class-name"),
    pytest.param("import os\nimport sys as os\n", (2, 7, 2, 16), id="import-alias"),
    pytest.param("e = 1\ntry:\n    pass\nexcept E as e:\n    pass\n", (4, 12, 4, 13),
                 id="except-name"),
    pytest.param("x = 1\nmatch v:\n    case [*x]:\n        pass\n", (3, 11, 3, 12), id="star"),
    pytest.param("total = 0\ntotal += 1\n", (2, 0, 2, 10), id="augmented-statement"),
])
def test_end_positions(text, span):
    [problem] = problems(text)
    assert (problem.lineno, problem.col, problem.end_lineno, problem.end_col) == span


@pytest.mark.parametrize("text", [
    "first = next(x for x in xs if f(x))\n",
    "ok = any(f(x) for x in xs)\n",
    "ok = all(f(x) for x in xs)\n",
    "r = consume(f(x) for x in xs)\n",
    "m = max(xs, default=(f(x) for x in xs))\n",
    "m = min(ys, (f(x) for x in xs))\n",
    "t = sum(*(f(x) for x in xs))\n",
])
def test_af302_advises_no_rewrite_that_changes_what_the_program_does(text):
    """A list comprehension is advised only where the consumer takes every element:
    never next([...]) (a TypeError), nor any([...])/all([...]) (no short-circuit)."""
    for problem in problems(text):
        assert "([...])" not in problem.message, problem.message


def test_errors_and_warnings_are_told_apart():
    text = "def f(x): return x\ns = sum(f(x) for x in xs)\ns = 1\n"
    result = problems(text)
    assert [(p.code, p.warning, p.error) for p in result] == [
        ("AF302", True, RebindError), ("AF101", False, RebindError)]


def test_problems_are_sorted_by_position():
    # AF111 is found when its loop ends, after the AF101 inside it.
    text = "for x in xs:\n    print(prev)\n    prev = x\n    prev = 2\n"
    assert found(text) == [("AF111", 2, 10), ("AF101", 4, 4)]


def test_the_tree_is_left_unchanged():
    tree = ast.parse(_source(ARITY_HEADER) + "a, b = three(1)\nx = 1\nx += 1\n")
    before = ast.dump(tree, include_attributes=True)
    assert check_module(tree, "m.py")
    assert ast.dump(tree, include_attributes=True) == before
