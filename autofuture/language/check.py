"""Load-time checks of futurized code: every name is bound once (SPEC §3).

Futurized code runs ahead of its own results, so a name that is bound twice
would leave tasks and effects racing for the same slot. Single assignment
makes the parallel run read exactly like the sequential one. This module
finds every violation before any of the module runs; it is a pure function
of the parsed tree (no I/O, no runtime import), and ``language.pipeline`` raises the
first error as a ``SyntaxError`` subclass.

Futurized code is the module's top level, with everything inside its loops,
conditionals, ``with``/``try`` blocks, ``match`` statements and
comprehensions, and the bodies of ``@autofuture.workflow`` functions defined
there (the same functions ``language.rewrite`` futurizes: workflow methods of classes
are ordinary code). A workflow body is a scope of its own whose parameters
count as bound once. Other function, lambda and class bodies are ordinary
Python and are not checked for rebinding.

How bindings relate. Each binding remembers the branch arms it sits in (its
*path*). Two bindings of one name conflict unless, at the first branch
statement where their paths part, they are in arms that never both run:
- the arms of one ``if``/``elif``/``else``, of one conditional expression,
  the cases of one ``match`` and the alternatives of one or-pattern;
- a ``try`` body and its handlers (the spec allows ``try: import ujson as
  json`` / ``except ImportError: import json`` although a handler may run
  after part of the body), and two handlers of one ``try``;
- ``try``'s ``else:`` runs only when the body finished, so it conflicts with
  the body and is exclusive with the handlers;
- ``finally:`` runs after whichever arm ran, so it conflicts with all of them.

Blocks. Names bound by a loop (its target and everything bound in its body,
including nested blocks), by ``with ... as`` and by ``except ... as`` end with
their block: the next iteration binds them afresh, any later code may bind
them again, and reading one after its block is an error. Other names bound
inside a ``with`` or ``except`` body belong to the enclosing block, so
``data = fh.read()`` stays usable after the ``with``. A loop's ``else:`` is
not its body. A read inside a loop of a name that the loop binds but that
this iteration has not bound yet would see the previous iteration's value,
and is an error too (AF111).

Comprehension targets are local to their comprehension and may shadow outer
names; a walrus inside a comprehension binds once in the enclosing block
(holding the last element's value, as in Python). Annotations are never read:
they may be strings or deferred.

Codes (errors stop the load; warnings never do):

- AF101 a name is bound again;
- AF102 a name bound before a loop is bound again inside it;
- AF103 a second ``def``/``class`` of a name;
- AF104 an import binds a name already bound (the same dotted object is fine);
- AF105 augmented assignment to a name (``x += 1``);
- AF106 ``del name``;
- AF107 ``global``; AF108 ``nonlocal``; AF109 ``from m import *``;
- AF110 a name read after the block that bound it;
- AF111 a name read in a loop before the iteration binds it;
- AF112 ``_`` is read;
- AF201 an unpacking contradicts the fixed arity of a function's return
  annotation (``ArityError``);
- AF301 warning: a task function calls other functions of the module, which
  then run serially inside the task (suggest ``@autofuture.workflow``);
- AF302 warning: a generator expression with calls in it is passed as an
  argument, so its elements resolve one by one (a list comprehension is
  suggested only where it is equivalent: see ``language.advice``);
- AF303 warning: a task function declares ``global``;
- AF304 warning: a task function changes module-level state (``LOG.append(x)``,
  ``CACHE[k] = v``, ``STATE.n += 1``, ``del CACHE[k]``), which stays in its
  worker (``module_state`` says what is reported and why).

A *task function* here is a plain top-level ``def`` (not a generator or
coroutine) with no decorator other than ``@autofuture.task``: anything else
may not be a task, and a guess would only add noise. AF301 is given once per
function, at its first call from futurized code, and not for recursion alone.
AF302 is given only when the generator makes calls as it is consumed (a
``sum(x for x in xs)`` over futures already running loses nothing), and not
to ``any``, ``all`` and ``next``, which stop early by design. Neither
is given in decorators, defaults or class bases, which the rewriter leaves as
plain calls. Arity (AF201) is checked for functions defined once at top level,
in futurized code only (``for a, b in ...`` is not covered).

Positions of names that have no node of their own (``def f``, ``class C``,
``except E as e``) are computed assuming one space between the words, as
formatters write them.
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Iterable, Iterator

from .._errors import ArityError, Problem, RebindError
from . import advice, module_state
from .astwalk import (
    Pos,
    arguments,
    calls_per_element,
    except_name_pos,
    flatten,
    keyword_name_pos,
    local_names,
    span,
)
from .definitions import Definitions
from .scopes import (
    EXCLUSIVE,
    SEQUENTIAL,
    Binding,
    Loop,
    Scope,
    relation,
)

_ACCUMULATE = "sum(...), functools.reduce(...) or itertools.accumulate(...)"


def check_module(tree: ast.Module, filename: str) -> list[Problem]:
    """Every binding problem and warning of a futurized module, sorted by position."""
    checker = _Checker(tree, filename)
    for stmt in tree.body:
        checker.visit(stmt)
    return sorted(checker.problems, key=lambda p: (p.lineno, p.col))


class _Checker(ast.NodeVisitor):
    """Walks futurized statements in order, binding and reading names."""

    def __init__(self, tree: ast.Module, filename: str):
        self.filename = filename
        self.problems: list[Problem] = []
        self.scope = Scope()
        self.plain = 0  # > 0 while visiting code the rewriter leaves alone
        self.defs = Definitions(tree)
        self.own_names = module_state.module_names(tree)  # the module's own state
        self.bound_anywhere = advice.bound_anywhere(tree)  # names that may shadow a builtin

    # -- reporting -------------------------------------------------------------

    def _report(self, code: str, message: str, pos: Pos, *,
                error: type[SyntaxError] = RebindError, warning: bool = False) -> None:
        self.problems.append(Problem(code, message, self.filename, *pos,
                                     error=error, warning=warning))

    def _rebound(self, new: Binding, first: Binding) -> None:
        name, where, fresh = new.name, _at(first.pos), _renamed(new.name)
        if new.kind in ("def", "class"):
            what = "function" if new.kind == "def" else "class"
            self._report("AF103", f"{what} '{name}' is defined again here; it was first bound "
                         f"at {where}. Give this definition its own name, such as '{fresh}', "
                         "or define each version in one arm of an if/else.", new.pos)
        elif new.kind == "import":
            self._report("AF104", f"this import binds '{name}' again; it was first bound at "
                         f"{where}. Import it under a name of its own (import ... as "
                         f"{fresh}), or put the alternatives in exclusive branches "
                         "(try/except ImportError, or if/else).", new.pos)
        elif new.depth > first.depth:
            loop = self.scope.loops[first.depth].label
            self._report("AF102", f"name '{name}' is bound again here inside {loop}, but it "
                         f"was first bound before that loop at {where}; a loop cannot update "
                         "a name from outside it. Build the value without rebinding: a list "
                         f"or dict comprehension, {_ACCUMULATE}.", new.pos)
        else:
            self._report("AF101", f"name '{name}' is bound again here; it was first bound at "
                         f"{where}. Names in futurized code are set once: give the new value "
                         f"a new name such as '{fresh}'.", new.pos)

    # -- binding and reading ---------------------------------------------------

    def _bind(self, name: str, kind: str, pos: Pos, origin: str | None = None) -> Binding:
        scope = self.scope
        local = kind == "comprehension"  # walrus in a comprehension binds outside it
        layer = scope.layers[-1] if local else scope.layers[0]
        new = Binding(name, kind, pos, scope.path, len(scope.loops), origin)
        if name != "_":
            for old in layer.get(name, ()):
                if relation(old.path, scope.path) == SEQUENTIAL \
                        and not (origin is not None and origin == old.origin):
                    self._rebound(new, old)
                    break
        layer.setdefault(name, []).append(new)
        if not local and scope.loops:
            scope.loops[-1].bound.setdefault(name, new)
        return new

    def _bind_target(self, target: ast.expr, kind: str) -> list[Binding]:
        if isinstance(target, ast.Name):
            return [self._bind(target.id, kind, span(target))]
        if isinstance(target, (ast.Tuple, ast.List)):
            return [b for elt in target.elts for b in self._bind_target(elt, kind)]
        if isinstance(target, ast.Starred):
            return self._bind_target(target.value, kind)
        self.visit(target)  # obj.attr or obj[key]: a mutation; only its parts are read
        return []

    def _lookup(self, name: str) -> Binding | None:
        """The latest binding of ``name`` that code here can see."""
        for layer in reversed(self.scope.layers):
            for binding in reversed(layer.get(name, ())):
                if relation(binding.path, self.scope.path) != EXCLUSIVE:
                    return binding
        return None

    def _kill(self, bindings: Iterable[Binding], label: str) -> None:
        """End block-local bindings: later code may bind the names again, but not read them."""
        layer = self.scope.layers[0]
        for binding in bindings:
            layer[binding.name].remove(binding)
            self.scope.dead[binding.name] = (binding, label)

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load):
            return
        scope, name = self.scope, node.id
        if name == "_":
            last = self._lookup(name)
            where = f", where it was last bound at {_at(last.pos)}" if last else ""
            self._report("AF112", f"'_' is read here{where}; '_' is a throwaway name that may "
                         "be bound many times, so reading it is ambiguous. Bind the value to "
                         "a real name and read that.", span(node))
            return
        if self._lookup(name):
            return
        dead = scope.dead.get(name)
        if dead and relation(dead[0].path, scope.path) != EXCLUSIVE:
            binding, label = dead
            if binding.kind == "except":
                advice = ("Bind what you need to a new name inside the handler, such as "
                          f"'message = str({name})'.")
            elif binding.kind == "with":
                advice = "Bind what you need from it to a new name inside the block."
            else:
                advice = ("To use values from a loop after it, collect them with a "
                          f"comprehension ('{name}_list = [... for ...]') or compute what you "
                          "need from the whole sequence after the loop.")
            self._report("AF110", f"name '{name}' is read here, but it was bound at "
                         f"{_at(binding.pos)} inside {label}, and names bound there live only "
                         f"within it. {advice}", span(node))
        elif scope.loops:
            scope.loops[-1].pending.append(node)

    # -- blocks and branches ---------------------------------------------------

    @contextlib.contextmanager
    def _arm(self, node: ast.AST, arm: object) -> Iterator[None]:
        saved = self.scope.path
        self.scope.path = saved + ((node, arm),)
        yield
        self.scope.path = saved

    @contextlib.contextmanager
    def _loop(self, node: ast.stmt) -> Iterator[None]:
        scope = self.scope
        kind = "while" if isinstance(node, ast.While) else "for"
        loop = Loop(f"the {kind} loop at line {node.lineno}")
        scope.loops.append(loop)
        yield
        scope.loops.pop()
        depth = len(scope.loops) + 1
        self._kill([b for bindings in scope.layers[0].values() for b in bindings
                    if b.depth == depth], loop.label)
        outer = scope.loops[-1] if scope.loops else None
        for node_read in loop.pending:
            name = node_read.id
            if name in loop.bound:
                self._report("AF111", f"name '{name}' is read here, where this iteration of "
                             f"{loop.label} has not bound it yet (it is bound at "
                             f"{_at(loop.bound[name].pos)}); names bound in a loop are fresh "
                             "in each iteration, so this would read a value left by an "
                             "earlier one. Pair the items instead, with zip(items, items[1:]) "
                             f"or itertools.pairwise(...), or use {_ACCUMULATE}.",
                             span(node_read))
            elif outer is not None:
                outer.pending.append(node_read)
        if outer is not None:
            for name, binding in loop.bound.items():
                outer.bound.setdefault(name, binding)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        with self._loop(node):
            self._bind_target(node.target, "for")
            self._visit_all(node.body)
        self._visit_all(node.orelse)

    visit_AsyncFor = visit_For

    def visit_While(self, node: ast.While) -> None:
        with self._loop(node):
            self.visit(node.test)  # evaluated in every iteration
            self._visit_all(node.body)
        self._visit_all(node.orelse)

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        with self._arm(node, "body"):
            self._visit_all(node.body)
        with self._arm(node, "else"):
            self._visit_all(node.orelse)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self.visit(node.test)
        with self._arm(node, "body"):
            self.visit(node.body)
        with self._arm(node, "else"):
            self.visit(node.orelse)

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        names: list[Binding] = []
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                names += self._bind_target(item.optional_vars, "with")
        self._visit_all(node.body)
        self._kill(names, f"the with block at line {node.lineno}")

    visit_AsyncWith = visit_With

    def visit_Try(self, node: ast.Try) -> None:
        with self._arm(node, "body"):
            self._visit_all(node.body)
        for index, handler in enumerate(node.handlers):
            with self._arm(node, ("handler", index)):
                self.visit(handler.type)
                names = [] if handler.name is None else [
                    self._bind(handler.name, "except", except_name_pos(handler))]
                self._visit_all(handler.body)
                self._kill(names, f"the except handler at line {handler.lineno}")
        with self._arm(node, "else"):
            self._visit_all(node.orelse)
        with self._arm(node, "finally"):
            self._visit_all(node.finalbody)

    visit_TryStar = visit_Try

    def visit_Match(self, node: ast.Match) -> None:
        self.visit(node.subject)
        for index, case in enumerate(node.cases):
            with self._arm(node, index):
                self._bind_pattern(case.pattern)
                self.visit(case.guard)
                self._visit_all(case.body)

    def _bind_pattern(self, pattern: ast.pattern) -> None:
        if isinstance(pattern, ast.MatchOr):
            for index, alternative in enumerate(pattern.patterns):
                with self._arm(pattern, index):
                    self._bind_pattern(alternative)
            return
        for child in ast.iter_child_nodes(pattern):
            if isinstance(child, ast.pattern):
                self._bind_pattern(child)
            else:
                self.visit(child)  # a value or a class to match against
        name = getattr(pattern, "name", None) or getattr(pattern, "rest", None)
        if name is None:
            return
        if isinstance(pattern, ast.MatchMapping):
            pos = span(pattern)  # ``**rest`` has no node of its own
        else:  # ``x``, ``... as x``, ``*x``: the name is the pattern's last word
            pos = (pattern.end_lineno, pattern.end_col_offset - len(name),
                   pattern.end_lineno, pattern.end_col_offset)
        self._bind(name, "match", pos)

    # -- statements --------------------------------------------------------------

    def visit(self, node: ast.AST | None) -> None:
        if node is not None:  # optional fields: a guard, a handler's type, a value
            super().visit(node)

    def _visit_all(self, nodes: Iterable[ast.AST]) -> None:
        for node in nodes:
            self.visit(node)

    @contextlib.contextmanager
    def _plain(self) -> Iterator[None]:
        """Decorators, defaults and class bases: read here, but left unrewritten."""
        self.plain += 1
        yield
        self.plain -= 1

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self._check_arity(target, node.value)
            self._bind_target(target, "assign")

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is None and isinstance(node.target, ast.Name):
            return  # ``x: int`` declares, it does not bind
        self.visit(node.value)
        self._bind_target(node.target, "assign")

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if not isinstance(node.target, ast.Name):
            self.visit(node.target)  # obj.n += 1, d[k] += 1: one mutation each
            return
        name, first = node.target.id, self._lookup(node.target.id)
        where = f", which was bound at {_at(first.pos)}" if first else ""
        op = _OPERATORS.get(type(node.op), "+")
        self._report("AF105", f"augmented assignment rebinds '{name}'{where}. Bind the new "
                     f"value to a new name, such as '{_renamed(name)} = {name} {op} ...'; to "
                     f"accumulate over a loop use {_ACCUMULATE}.", span(node))

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            for item in flatten(target):
                if not isinstance(item, ast.Name):
                    self.visit(item)  # del d[k], del obj.a: mutations
                    continue
                first = self._lookup(item.id)
                where = f" (bound at {_at(first.pos)})" if first else ""
                self._report("AF106", f"'del {item.id}' unbinds '{item.id}'{where}; names in "
                             "futurized code stay bound until their block ends. Remove the "
                             "del, or do the temporary work inside a function so that its "
                             "names end with the call.", span(item))

    def visit_Global(self, node: ast.Global | ast.Nonlocal) -> None:
        keyword = "global" if isinstance(node, ast.Global) else "nonlocal"
        names = ", ".join(node.names)
        if self.scope.local_names is None and keyword == "global":
            advice = "At module level it has no effect: remove it."
        else:
            advice = ("Return the value from the workflow function instead, and bind it to a "
                      "new name where the function is called.")
        code = "AF107" if keyword == "global" else "AF108"
        self._report(code, f"'{keyword} {names}' is not allowed in futurized code, where each "
                     f"name is bound once in its own scope. {advice}", span(node))

    visit_Nonlocal = visit_Global

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name == "*":
                module = "." * node.level + (node.module or "")
                self._report("AF109", f"'from {module} import *' binds names that cannot be "
                             "checked for rebinding; import the names you use, such as "
                             f"'from {module} import a, b'.", span(node))
                continue
            if isinstance(node, ast.ImportFrom):
                base = "." * node.level + (f"{node.module}." if node.module else "")
                origin = base + alias.name  # the object bound, so re-imports are equal
            else:
                origin = alias.name if alias.asname else alias.name.partition(".")[0]
            name = alias.asname or alias.name.partition(".")[0]
            self._bind(name, "import", span(alias), origin)

    visit_ImportFrom = visit_Import

    def visit_TypeAlias(self, node: ast.stmt) -> None:
        # ``type X = ...`` (3.12+) binds X; its value is evaluated lazily, not here.
        self._bind(node.name.id, "assign", span(node.name))

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        # Decorators and defaults run here (as plain calls); the body does not.
        with self._plain():
            self._visit_all(node.decorator_list)
            self._visit_defaults(node.args)
        keyword = "async def " if isinstance(node, ast.AsyncFunctionDef) else "def "
        self._bind(node.name, "def", keyword_name_pos(node, keyword))
        if self.defs.is_workflow(node):
            self._check_workflow(node)
        elif self.defs.is_task(node):
            self.problems += module_state.findings(node, self.own_names, self.filename)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        with self._plain():
            self._visit_all(node.decorator_list)
            self._visit_all(node.bases)
            self._visit_all(node.keywords)
        self._bind(node.name, "class", keyword_name_pos(node, "class "))

    def _check_workflow(self, func: ast.FunctionDef) -> None:
        """A workflow body is futurized in a scope of its own."""
        saved = self.scope
        self.scope = Scope(local_names=local_names(func))
        for arg in arguments(func.args):
            self._bind(arg.arg, "param", span(arg))
        self._visit_all(func.body)
        self.scope = saved

    # -- expressions ---------------------------------------------------------------

    def _visit_defaults(self, args: ast.arguments) -> None:
        self._visit_all(args.defaults)
        self._visit_all(d for d in args.kw_defaults if d is not None)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        with self._plain():
            self._visit_defaults(node.args)  # the body is ordinary code

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._bind(node.target.id, "walrus", span(node.target))

    def visit_ListComp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp) -> None:
        self._comprehension(node.generators, [node.elt])

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._comprehension(node.generators, [node.key, node.value])

    def _comprehension(self, generators: list[ast.comprehension], parts: list[ast.expr]) -> None:
        self.scope.layers.append({})
        for generator in generators:
            self.visit(generator.iter)
            self._bind_target(generator.target, "comprehension")
            self._visit_all(generator.ifs)
        self._visit_all(parts)
        self.scope.layers.pop()

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        if self.plain:
            return  # not a task call: the rewriter leaves this code alone
        func = node.func
        if isinstance(func, ast.Name) and func.id in self.defs.nesting \
                and func.id not in (self.scope.local_names or ()):
            callee, line = self.defs.nesting.pop(func.id)  # once, at the first call
            self._report("AF301", f"'{func.id}' is called as a task here, but it calls "
                         f"'{callee}' (line {line}), another function of this module, so "
                         "those calls would run one after another inside this task. Decorate "
                         f"'{func.id}' with @autofuture.workflow so that its calls run in "
                         "parallel.", span(func), warning=True)
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            if isinstance(arg, ast.GeneratorExp) and calls_per_element(arg):
                told = advice.generator_advice(node, arg, self.bound_anywhere)
                if told is not None:
                    self._report("AF302", "this generator expression is consumed one element "
                                 "at a time, so the calls in it run one after another" + told,
                                 span(arg), warning=True)

    def _check_arity(self, target: ast.expr, value: ast.expr) -> None:
        if not (isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name) and value.func.id in self.defs.arity):
            return
        name = value.func.id
        if self.scope.local_names and name in self.scope.local_names:
            return  # a workflow's own name, not the module function
        size, annotation, line = self.defs.arity[name]
        starred = any(isinstance(elt, ast.Starred) for elt in target.elts)
        plain = len(target.elts) - starred
        if plain == size or (starred and plain < size):
            return
        if starred:
            wanted = f"{_count(plain, 'name')} besides the starred one"
            fix = f"Use at most {_count(size, 'name')} besides the starred one"
        else:
            wanted = _count(plain, "name")
            fix = f"Unpack {_count(size, 'name')}"
        self._report("AF201", f"this unpacks {wanted} from {name}(...), but '{name}' is "
                     f"annotated at line {line} to return {annotation}, which has "
                     f"{_count(size, 'value')}. {fix}, or bind the result to one name and "
                     "index it.", span(target), error=ArityError)


# -- helpers -------------------------------------------------------------------------


_OPERATORS = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.MatMult: "@", ast.Div: "/",
    ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&",
}


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _renamed(name: str) -> str:
    """A new name to suggest: ``total2``, ``step1_2``."""
    return f"{name}_2" if name[-1].isdigit() else f"{name}2"


def _at(pos: Pos) -> str:
    return f"line {pos[0]}, column {pos[1] + 1}"
