"""``autofuture export --swift-t``: a marked script's top level as a Swift/T program.

A futurized top level already is Swift/T's model: every name is bound once,
task calls are futures, and only tests wait. The translation is a pure
function of the parsed and checked tree:

- every value is a Swift/T ``string`` holding a Python literal; a task call
  is ``_af_task("f(" + x + ")")`` (see ``swift_t_text``): the arguments are
  spliced into the call's text as literals and the result comes back as
  ``repr``; any other expression over values (operators, f-strings, pure
  builtins, comprehensions without task calls) is one ``_af_eval``;
- ``for`` over any iterable becomes ``foreach`` over its elements' literals;
  ``if``/``elif``/``else`` becomes ``if`` on ``_af_truth``; a comprehension
  with task calls in it becomes ``foreach`` into arrays joined in key order;
- output: each block's printed text (prints, and what its tasks printed) is
  a string; a loop's is the join of its iterations' in order; the top level
  writes its pieces with ``=>`` chained writes, all from rank 0, so the
  program prints in program order, as ``python script.py`` does.

What cannot be translated faithfully is refused before anything is written,
with a located ``Problem`` (codes AF5xx, the format of ``autofuture check``):

- AF501 a statement or expression kind Swift/T has no counterpart for here
  (``try``, ``with``, ``while``, ``class``, ``match``, ``lambda``, ...);
- AF502 a local call that may have effects (mutating methods, functions of
  modules not known to be pure, ``input()``, ``open()``), or ``print`` with
  ``file=``;
- AF503 a task function reads a top-level variable (on a Swift/T worker only
  the script's functions and imports exist: pass it as an argument);
- AF504 a name that has no value here (bound in one arm of an ``if`` only,
  a function or module used as a value, an unknown name);
- AF505 a task call where Python might not make it (in ``and``/``or`` or a
  conditional expression): Swift/T would run it anyway;
- AF506 a function kind that cannot be a task (generator, ``async``,
  ``@autofuture.workflow``/``local`` or another decorator), or a ``def`` or
  import inside a block;
- AF507 a mutation (``x[i] = v``, ``x.a = v``).
"""

from __future__ import annotations

import ast
import copy
import hashlib
import os
import re

from .._errors import Problem
from .astwalk import local_names
from .definitions import Definitions
from .swift_t_splice import (
    CONSTRUCTS,
    Refused,
    Splicer,
    bound_in_arm,
    construct,
    is_docstring,
    is_literal,
    is_main_test,
    is_task_call,
)
from .swift_t_text import load_code, prelude, swift_string


def export(tree: ast.Module, source: str, filename: str) -> tuple[str | None, list[Problem]]:
    """The Swift/T program for a checked module, or None and every refusal, in order."""
    translator = _Translator(tree, source, filename)
    program = translator.program()
    problems = sorted(translator.problems, key=lambda p: (p.lineno, p.col))
    return (None if problems else program), problems


class _Block:
    """Swift/T lines of one block, the names it sees and the output it produces."""

    def __init__(self, parent: _Block | None, indent: int):
        self.lines: list[str] = []
        self.names: dict[str, str] = dict(parent.names) if parent else {}
        self.predeclared: dict[str, str] = {}
        self.one_arm: dict[str, int] = dict(parent.one_arm) if parent else {}
        self.chunks: list[str] = []
        self.indent = indent

    def emit(self, line: str) -> None:
        self.lines.append("  " * self.indent + line)

    def output(self) -> str:
        return " + ".join(self.chunks) if self.chunks else '""'


class _Translator:
    def __init__(self, tree: ast.Module, source: str, filename: str):
        self.tree, self.source, self.filename = tree, source, filename
        self.defs = Definitions(tree)
        self.problems: list[Problem] = []
        self.tasks: set[str] = set()
        self.modules: dict[str, str] = {}  # name bound by an import -> its module
        self.counter = 0
        # imports and defs, which travel to the workers, with the main guards around them
        self.kept: list[tuple[ast.stmt, tuple[ast.If, ...]]] = []
        self.marker = "__af_splice"  # a name no text of the script contains
        while self.marker in source:
            self.marker += "_"
        self.splice_pattern = re.compile(re.escape(self.marker) + r"_(\d+)__")

    # -- the program ---------------------------------------------------------

    def program(self) -> str:
        top = _Block(None, 0)
        self._index(self.tree.body)
        for index, stmt in enumerate(self.tree.body):
            if index == 0 and is_docstring(stmt):
                continue
            self._statement(stmt, top)
        base = os.path.basename(self.filename)
        digest = hashlib.sha1(self.source.encode()).hexdigest()[:12]
        load = load_code(f"_af_script_{digest}", self._definitions(), base)
        out = [f"// Exported by autofuture from {base}; run with: swift-t -n 3 "
               f"{os.path.splitext(base)[0]}.swift", "", prelude(load), "// The workflow"]
        out += top.lines
        if top.chunks:
            out.append("")
            out.append("// Output in program order.")
            out.append(" => ".join(f"_af_emit({chunk})" for chunk in top.chunks) + ";")
        return "\n".join(out) + "\n"

    def _definitions(self) -> str:
        """The script with only its imports and defs kept (at their lines, for tracebacks).

        Those inside ``if __name__ == "__main__":`` keep their indentation under
        an ``if True:`` at the guard's line.
        """
        lines = self.source.splitlines()
        keep = [False] * len(lines)
        for stmt, guards in self.kept:
            first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
            for number in range(first, (stmt.end_lineno or stmt.lineno) + 1):
                keep[number - 1] = True
            for guard in guards:
                indent = lines[guard.lineno - 1][:guard.col_offset]
                lines[guard.lineno - 1] = indent + "if True:"
                keep[guard.lineno - 1] = True
        return "\n".join(line if keep[i] else "" for i, line in enumerate(lines)) + "\n"

    def _index(self, body: list[ast.stmt], guards: tuple[ast.If, ...] = ()) -> None:
        """Tasks and imports first (the main guard's too): they are known before any call."""
        for stmt in body:
            if isinstance(stmt, ast.If) and is_main_test(stmt.test):
                self._index(stmt.body, (*guards, stmt))
                continue
            try:
                if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                    self.kept.append((stmt, guards))
                    for alias in stmt.names:
                        if alias.name == "*":
                            raise Refused(stmt, "AF501", "from ... import * cannot be exported")
                        if isinstance(stmt, ast.Import):
                            bound = alias.asname or alias.name.partition(".")[0]
                            self.modules[bound] = alias.name if alias.asname else bound
                        else:
                            self.modules[alias.asname or alias.name] = \
                                f"{stmt.module}.{alias.name}"
                elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self.kept.append((stmt, guards))
                    self.tasks.add(stmt.name)  # also when refused: its calls say no more
                    self._function(stmt)
            except Refused as refused:
                self._refuse(refused)
        if guards:
            return
        top_variables = self._top_variables(body)
        for stmt, _ in self.kept:
            if isinstance(stmt, ast.FunctionDef):
                mine = local_names(stmt)
                for node in ast.walk(stmt):
                    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) \
                            and node.id in top_variables and node.id not in mine:
                        self._refuse(Refused(
                            node, "AF503",
                            f"task function {stmt.name}() reads the top-level variable "
                            f"{node.id!r}, which does not exist on a Swift/T worker (only the "
                            "script's functions and imports do): pass it as an argument"))
                        break

    def _function(self, func: ast.stmt) -> None:
        if isinstance(func, ast.AsyncFunctionDef):
            raise Refused(func, "AF506", f"async def {func.name}() cannot be a Swift/T task")
        for dec in func.decorator_list:
            for what in ("workflow", "local"):
                if self.defs.is_autofuture(dec, what):
                    raise Refused(dec, "AF506",
                                  f"@autofuture.{what} function {func.name}() cannot be "
                                  "exported: only task functions run under Swift/T (drop the "
                                  "decorator if it is a pure function)")
        if not self.defs.is_task(func):
            kind = "a generator" if any(
                isinstance(n, (ast.Yield, ast.YieldFrom)) for n in ast.walk(func)) \
                else "decorated"
            raise Refused(func, "AF506", f"function {func.name}() is {kind}, so it cannot be "
                                         "a Swift/T task (its result must be a literal)")

    @staticmethod
    def _top_variables(body: list[ast.stmt]) -> set[str]:
        names: set[str] = set()
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                 ast.Import, ast.ImportFrom)):
                continue
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
        return names

    def _refuse(self, refused: Refused) -> None:
        node = refused.node
        self.problems.append(Problem(
            refused.code, refused.message, self.filename, getattr(node, "lineno", 1),
            getattr(node, "col_offset", 0), getattr(node, "end_lineno", None),
            getattr(node, "end_col_offset", None)))

    def _new(self, hint: str) -> str:
        self.counter += 1
        safe = re.sub(r"\W", "_", hint.encode("ascii", "replace").decode())
        return f"{safe}_{self.counter}"

    # -- statements ----------------------------------------------------------

    def _statement(self, stmt: ast.stmt, block: _Block) -> None:
        try:
            self._statement_or_refuse(stmt, block)
        except Refused as refused:
            self._refuse(refused)

    def _statement_or_refuse(self, stmt: ast.stmt, block: _Block) -> None:
        if type(stmt) in CONSTRUCTS:
            raise construct(stmt)
        if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef)):
            if block.indent:
                what = "import" if isinstance(stmt, (ast.Import, ast.ImportFrom)) else "def"
                raise Refused(stmt, "AF506", f"{what} inside a block cannot be exported: "
                                             "move it to the top level")
            return  # indexed already; it travels to the workers
        if isinstance(stmt, ast.Pass):
            return
        if isinstance(stmt, ast.Assign):
            value = self._value(stmt.value, block)
            for target in stmt.targets:
                self._bind(target, value, block)
        elif isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                self._bind(stmt.target, self._value(stmt.value, block), block)
        elif isinstance(stmt, ast.Expr):
            self._expression_statement(stmt.value, block)
        elif isinstance(stmt, ast.For):
            self._for(stmt, block)
        elif isinstance(stmt, ast.If):
            self._if(stmt, block)
        else:
            raise Refused(stmt, "AF501", f"{type(stmt).__name__} statements cannot be exported")

    def _expression_statement(self, node: ast.expr, block: _Block) -> None:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "print" and "print" not in block.names:
            self._print(node, block)
        elif isinstance(node, ast.Constant):
            return
        else:
            self._value(node, block)  # task calls run; their output is kept

    def _print(self, call: ast.Call, block: _Block) -> None:
        for keyword in call.keywords:
            if keyword.arg == "file":
                raise Refused(keyword.value, "AF502",
                              "print(file=...) cannot be exported: Swift/T orders only "
                              "standard output")
            if keyword.arg is None:
                raise Refused(keyword.value, "AF501", "print(**kwargs) cannot be exported")
        text_call = ast.Call(func=ast.Attribute(ast.Name("_af_rt", ast.Load()), "text",
                                                ast.Load()),
                             args=call.args, keywords=call.keywords)
        name = self._new("printed")
        block.emit(f"string {name} = _af_print({self._text(text_call, block)});")
        block.chunks.append(name)

    def _bind(self, target: ast.expr, value: str, block: _Block) -> None:
        if isinstance(target, ast.Name):
            if target.id == "_":
                return
            if target.id in block.predeclared:
                name = block.predeclared[target.id]
                block.emit(f"{name} = {value};")
            else:
                name = self._new(f"v_{target.id}")
                block.emit(f"string {name} = {value};")
            block.names[target.id] = name
            block.one_arm.pop(target.id, None)
        elif isinstance(target, (ast.Tuple, ast.List)):
            if any(isinstance(e, ast.Starred) for e in target.elts):
                raise Refused(target, "AF501", "starred unpacking cannot be exported")
            whole = self._new("unpacked")
            block.emit(f"string {whole} = {value};")
            count = len(target.elts)
            for index, element in enumerate(target.elts):
                part = f'_af_eval("_af_rt.unpack(" + {whole} + ", {index}, {count})")'
                self._bind(element, part, block)
        elif isinstance(target, (ast.Subscript, ast.Attribute)):
            raise Refused(target, "AF507",
                          f"assigning to {ast.unparse(target)} mutates a value, which Swift/T "
                          "values cannot be: build a new value (a comprehension, a dict "
                          "display) instead")
        else:
            raise Refused(target, "AF501", f"{ast.unparse(target)} cannot be assigned here")

    def _for(self, loop: ast.For, block: _Block) -> None:
        if loop.orelse:
            raise Refused(loop.orelse[0], "AF501", "for ... else cannot be exported")
        items = self._new("items")
        block.emit(f"string {items}[] = _af_items({self._text(loop.iter, block)});")
        item, key, out = self._new("item"), self._new("k"), self._new("out")
        body = _Block(block, block.indent + 1)
        self._bind(loop.target, item, body)
        for stmt in loop.body:
            self._statement(stmt, body)
        block.emit(f"string {out}[];")
        block.emit(f"foreach {item}, {key} in {items} {{")
        block.lines += body.lines
        block.emit(f"  {out}[{key}] = {body.output()};")
        block.emit("}")
        joined = self._new("loop_output")
        block.emit(f'string {joined} = string_join({out}, "");')
        block.chunks.append(joined)

    def _if(self, stmt: ast.If, block: _Block) -> None:
        if is_main_test(stmt.test):
            for child in stmt.body:
                self._statement(child, block)
            return
        test = self._text(stmt.test, block)
        arms = [stmt.body, stmt.orelse]
        bound = [bound_in_arm(arm) for arm in arms]
        common = bound[0] & bound[1]
        declared: dict[str, str] = {}
        for name in sorted(common):
            if name in block.predeclared:
                declared[name] = block.predeclared[name]
            else:
                declared[name] = self._new(f"v_{name}")
                block.emit(f"string {declared[name]};")
        out = self._new("if_output")
        block.emit(f"string {out};")
        block.emit(f"if (_af_truth({test})) {{")
        for index, arm in enumerate(arms):
            if index:
                block.emit("} else {")
            child = _Block(block, block.indent + 1)
            child.predeclared = dict(declared)
            for name in common:
                child.names.pop(name, None)
            for child_stmt in arm:
                self._statement(child_stmt, child)
            block.lines += child.lines
            block.emit(f"  {out} = {child.output()};")
        block.emit("}")
        block.chunks.append(out)
        for name in common:
            block.names[name] = declared[name]
            block.one_arm.pop(name, None)
        for name in (bound[0] | bound[1]) - common:
            block.one_arm[name] = stmt.lineno

    # -- expressions ---------------------------------------------------------

    def _value(self, node: ast.expr, block: _Block) -> str:
        """A Swift/T expression for the literal of ``node``'s value."""
        if isinstance(node, ast.Constant) and is_literal(node.value):
            return swift_string(ascii(node.value))
        if isinstance(node, ast.Name) and node.id in block.names:
            return block.names[node.id]
        if is_task_call(node, self.tasks, block):
            return self.task_call(node, block)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)) \
                and self._has_task_call(node, block):
            return self.comprehension(node, block)
        name = self._new("value")
        block.emit(f"string {name} = _af_eval({self._text(node, block)});")
        return name

    def _has_task_call(self, node: ast.AST, block: _Block) -> bool:
        return any(is_task_call(n, self.tasks, block) for n in ast.walk(node))

    def task_call(self, call: ast.Call, block: _Block) -> str:
        text = self._text(call, block, top_call=True)
        result, output = self._new(f"r_{call.func.id}"), self._new("o")
        block.emit(f"string {result}, {output};")
        block.emit(f"({result}, {output}) = _af_task({text});")
        block.chunks.append(output)
        return result

    def _text(self, node: ast.expr, block: _Block, top_call: bool = False) -> str:
        """A Swift/T string expression whose value is ``node`` as Python text over literals.

        Task calls and comprehensions with task calls inside are hoisted into
        statements of ``block`` first; names of values become splices.
        """
        splices: list[str] = []
        rewritten = Splicer(self, block, splices, top_call).visit(copy.deepcopy(node))
        text = ast.unparse(ast.fix_missing_locations(rewritten))
        pieces, last, prefix = [], 0, ""
        # A splice is parenthesized: with x = -1, x ** 2 is (-1) ** 2, not -1 ** 2.
        for match in self.splice_pattern.finditer(text):
            pieces.append(swift_string(prefix + text[last:match.start()] + "("))
            pieces.append(splices[int(match.group(1))])
            prefix, last = ")", match.end()
        pieces.append(swift_string(prefix + text[last:]))
        return " + ".join(p for p in pieces if p != '""') or '""'

    def comprehension(self, node: ast.expr, block: _Block) -> str:
        steps: list[tuple[str, object]] = []
        for generator in node.generators:
            if generator.is_async:
                raise Refused(generator, "AF501", "async comprehensions cannot be exported")
            steps.append(("for", generator))
            steps += [("if", test) for test in generator.ifs]
        elements = self._level(node, steps, block)
        if isinstance(node, ast.DictComp):
            return f'"{{" + {elements} + "}}"'
        if isinstance(node, ast.SetComp):
            return f'"set([" + {elements} + "])"'
        return f'"[" + {elements} + "]"'

    def _level(self, node: ast.expr, steps: list, block: _Block) -> str:
        """The comprehension's element texts from ``steps`` on, each followed by ", "."""
        if not steps:
            if isinstance(node, ast.DictComp):
                key, value = self._value(node.key, block), self._value(node.value, block)
                return f'{key} + ": " + {value} + ", "'
            return f'{self._value(node.elt, block)} + ", "'
        kind, step = steps[0]
        if kind == "if":
            test = self._text(step, block)
            elements, out = self._new("elements"), self._new("if_output")
            block.emit(f"string {elements}, {out};")
            block.emit(f"if (_af_truth({test})) {{")
            child = _Block(block, block.indent + 1)
            inner = self._level(node, steps[1:], child)
            block.lines += child.lines
            block.emit(f"  {elements} = {inner};")
            block.emit(f"  {out} = {child.output()};")
            block.emit("} else {")
            block.emit(f'  {elements} = ""; {out} = "";')
            block.emit("}")
            block.chunks.append(out)
            return elements
        items = self._new("items")
        block.emit(f"string {items}[] = _af_items({self._text(step.iter, block)});")
        item, key = self._new("item"), self._new("k")
        parts, outs = self._new("parts"), self._new("outs")
        child = _Block(block, block.indent + 1)
        self._bind(step.target, item, child)
        inner = self._level(node, steps[1:], child)
        block.emit(f"string {parts}[], {outs}[];")
        block.emit(f"foreach {item}, {key} in {items} {{")
        block.lines += child.lines
        block.emit(f"  {parts}[{key}] = {inner};")
        block.emit(f"  {outs}[{key}] = {child.output()};")
        block.emit("}")
        joined, output = self._new("joined"), self._new("comprehension_output")
        block.emit(f'string {joined} = string_join({parts}, "");')
        block.emit(f'string {output} = string_join({outs}, "");')
        block.chunks.append(output)
        return joined
