"""Notebooks: ``%load_ext autofuture``, ``%%autofuture`` cells and ``%autofuture on|off``.

A futurized cell is a workflow (SPEC §9), run by the pipeline that runs a
marked module, in the kernel's own namespace::

    cell ──> IPython's transforms ──> parse ──> check ──> rewrite ──> compile
             (%magic, !cmd: as in        the cell's   its last expression kept
              a plain cell)              own names    under a private name
    run:  exec in user_ns ──> barrier: prints and errors in program order
          ──> every name the cell bound holds values (futures inside lists,
              tuples, dicts and sets replaced)
          ──> the last expression's value is the magic's return value, so
              IPython's displayhook shows it as it shows a plain cell's

The plain cell is the reference: what it prints, displays and raises. An
error is shown with the traceback a plain cell shows (through the cell's
line and the task's line, with the original exception type) and fails the
cell's execution as a plain error does. Names bound ahead of an error, which
the plain cell never reached, are put back as they were.

Workers start with the first task of the first futurized cell, stay up
between cells (loky workers without an idle timeout) and stop when the
kernel exits, when the options change, or when a cell is interrupted or
fails with tasks still running, so that the next cell never waits behind
work nobody wants.
"""

from __future__ import annotations

import argparse
import ast
import atexit
import re
import sys

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from .. import _config
from ..executors import registry
from ..language import pipeline, rewrite
from ..runtime import abi, outcomes, runahead, tracebacks, values
from ..runtime import scheduler as _scheduler
from ..runtime.future import _UNSET

#: Where the cell's last expression is kept while the cell runs.
VALUE = "__af_cell_value__"
#: The rewriter's temporaries at the top level of a cell: removed after it.
_TEMPORARY = re.compile(r"__af_t\d+\Z")
#: What ``%autofuture on`` puts before a cell: its body is then the whole cell.
WHOLE_CELL = "--whole-cell"
_MISSING = object()

_notebook: Notebook | None = None


def load(shell) -> None:
    """``%load_ext autofuture``."""
    global _notebook
    if _notebook is not None:
        if _notebook.shell is shell:
            return
        unload(_notebook.shell)
    _notebook = Notebook(shell)
    shell.register_magics(AutofutureMagics(shell, _notebook))
    shell.input_transformers_cleanup.append(_notebook.transform)


def unload(shell) -> None:
    """``%unload_ext autofuture``: no more futurized cells, and the workers stop."""
    global _notebook
    if _notebook is None or _notebook.shell is not shell:
        return
    if _notebook.transform in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.remove(_notebook.transform)
    for kind in ("line", "cell"):
        shell.magics_manager.magics[kind].pop("autofuture", None)
    _notebook = None
    stop_workers(cancel=True)


def stop_workers(cancel: bool) -> None:
    """Shut the workers down (``cancel``: at once, killing what runs) and forget them."""
    scheduler = _scheduler.current_or_none()
    if scheduler is None:
        return
    try:
        scheduler.shutdown(cancel=cancel)
    finally:
        _scheduler.reset()


# The kernel's exit (a shutdown or a restart) takes the workers with it; a kernel
# that is killed leaves them to their own watch of their parent (_worker).
atexit.register(stop_workers, cancel=True)


@magics_class
class AutofutureMagics(Magics):
    def __init__(self, shell, notebook: Notebook):
        super().__init__(shell)
        self.notebook = notebook

    @magic_arguments()
    @argument("mode", nargs="?", choices=("on", "off"),
              help="%%autofuture on: futurize every later cell; off: stop doing so")
    @argument("-n", "--workers", type=int, default=None, metavar="N",
              help="number of workers (default: AUTOFUTURE_WORKERS, else all cores)")
    @argument("--executor", default=None, metavar="{loky,thread,serial,MODULE:FACTORY}",
              help="what runs the tasks (default: AUTOFUTURE_EXECUTOR, else loky)")
    @argument(WHOLE_CELL, dest="whole_cell", action="store_true", help=argparse.SUPPRESS)
    @line_cell_magic
    def autofuture(self, line, cell=None):
        """Run a cell as an autofuture workflow, or futurize every later cell.

        As a cell magic, ``%%autofuture [-n N] [--executor NAME]`` runs the
        cell futurized: calls of functions defined in futurized cells (or
        marked ``@autofuture.task``) run in parallel on workers, and the cell
        shows what the plain cell shows. ``%autofuture on [-n N] [--executor
        NAME]`` futurizes every later cell; ``%autofuture off`` stops. Options
        stick: a cell without them uses the last ones given.
        """
        args = parse_argstring(self.autofuture, line)
        if cell is None:
            return self.notebook.switch(args)
        if args.mode is not None:
            raise UsageError(f"%%autofuture takes no {args.mode!r}: '%autofuture on' and "
                             "'%autofuture off' are line magics, a cell of their own")
        return self.notebook.run(cell, args)


class Notebook:
    """One kernel's futurized cells: the options, on/off, and running a cell."""

    def __init__(self, shell):
        self.shell = shell
        self.on = False
        self.executor: str | None = None  # as last given; None: the environment's
        self.workers: int | None = None
        self.transforming = False  # while a cell's own body is transformed
        self.files: set[str] = set()  # of the futurized cells: see tracebacks.strip's pin

    # -- %autofuture on|off ----------------------------------------------------

    def switch(self, args) -> None:
        if args.mode is None:
            raise UsageError("%autofuture on|off [-n N] [--executor NAME]: 'on' futurizes "
                             "every later cell, 'off' stops; %%autofuture runs one cell")
        if args.mode == "on":
            self.choose(args)
        self.on = args.mode == "on"

    def transform(self, lines: list[str]) -> list[str]:
        """While on: every cell that is not a cell magic becomes a ``%%autofuture`` cell."""
        if not self.on or self.transforming or not lines or lines[0].startswith("%%") \
                or lines[0].startswith("%autofuture") or not "".join(lines).strip():
            return lines
        return [f"%%autofuture {WHOLE_CELL}\n", *lines]

    transform.has_side_effects = True  # not applied by check_complete (a console's Enter)

    # -- options -----------------------------------------------------------------

    def choose(self, args) -> tuple[str, int | None]:
        """(executor, workers) for a cell: its options, else the last ones given."""
        if args.workers is not None and args.workers < 1:
            raise UsageError(f"%autofuture: -n must be at least 1, got {args.workers}")
        executor = args.executor or self.executor
        if executor is not None:
            problem = registry.check_name(executor)
            if problem is not None:
                raise UsageError(f"%autofuture: {problem}")
        self.executor = executor
        self.workers = args.workers or self.workers
        options = _scheduler.Options(executor=self.executor, workers=self.workers)
        return options.executor, options.workers

    def _prepare(self, chosen: tuple[str, int | None]) -> None:
        """Workers as chosen: the running ones if they are, else new ones (lazily)."""
        scheduler = _scheduler.current_or_none()
        if scheduler is not None and (
                scheduler.closed or not scheduler.on_workflow_thread()
                or (scheduler.options.executor, scheduler.options.workers) != chosen):
            stop_workers(cancel=False)
            scheduler = None
        if scheduler is None:
            executor, workers = chosen
            _scheduler.configure(_scheduler.Options(executor=executor, workers=workers))

    # -- a futurized cell --------------------------------------------------------

    def run(self, body: str, args):
        """Run ``body`` futurized; the value of its last expression, or None."""
        shell = self.shell
        chosen = self.choose(args)
        source = self._source(body, first_line=1 if not args.whole_cell else 0)
        number = _cell_number(shell)
        filename = shell.compile.cache(source, number, raw_code=source)
        self.files.add(filename)
        tracebacks.name_file(filename, f"In[{number}]")
        self._prepare(chosen)
        namespace = shell.user_ns
        before = dict(namespace)
        tree = code = None
        try:
            tree, code = self._compile(source, filename)
            try:
                _execute(code, namespace)
            except KeyboardInterrupt:
                raise  # nothing more runs: no waiting for pending work
            except BaseException:
                abi.settle()  # an earlier failure, in program order, wins
                raise
        except BaseException as exc:
            _cancel_after(exc)
            _settle(namespace, before, _bound_after(tree, _cell_line(exc, code)))
            if isinstance(exc, SystemExit) or not self._show(exc):
                raise
            return None
        outcomes.flush_output()  # what the cell printed goes before its value
        value = _settle(namespace, before, ())
        if value is not None and self.shell.displayhook.semicolon_at_end_of_expression(source):
            return None  # 'x;' shows nothing, as in a plain cell
        return value

    def _source(self, body: str, first_line: int) -> str:
        """The cell as Python, as IPython transforms a plain cell, with as many blank
        lines first as the cell has before its body: lines are the cell's own."""
        lines = body.splitlines(keepends=True)
        while lines and not lines[0].strip():  # IPython drops them: they are counted
            lines.pop(0)
            first_line += 1
        self.transforming = True
        try:
            python = self.shell.transform_cell("".join(lines))
        finally:
            self.transforming = False
        return "\n" * first_line + python

    def _compile(self, source: str, filename: str):
        """(checked tree, futurized code): checks first, as for a marked module."""
        tree = pipeline.parse(source, filename)
        first_call = pipeline.check(tree, source, filename)
        last = tree.body[-1] if tree.body else None
        if isinstance(last, ast.Expr):
            tree.body[-1] = ast.copy_location(
                ast.Assign(targets=[ast.Name(VALUE, ast.Store())], value=last.value), last)
        module = rewrite.rewrite_module(tree, filename, first_call)
        if _config.debug():
            print(f"# autofuture: rewritten cell {filename}\n{ast.unparse(module)}\n"
                  f"# end of {filename}", file=sys.stderr)
        flags = getattr(self.shell.compile, "flags", 0)
        return tree, compile(module, filename, "exec", flags=flags, dont_inherit=True)

    def _show(self, exc: BaseException) -> bool:
        """Show ``exc`` as a plain cell's error and fail the cell with it; False where the
        cell's result cannot be reached (then it is raised, with IPython's own frames)."""
        result = getattr(self.shell.displayhook, "exec_result", None)
        if result is None:
            return False
        tracebacks.clean(exc, pin=self.files)
        self.shell.showtraceback((type(exc), exc, exc.__traceback__), tb_offset=0)
        result.error_in_exec = exc
        return True


def _cell_number(shell) -> int:
    """The cell's N in In[N] (IPython 9 counts the next cell while one runs; 8 does not)."""
    number = getattr(getattr(shell.displayhook, "exec_result", None), "execution_count", None)
    return shell.execution_count if number is None else number


def _execute(code, namespace: dict) -> None:
    """Run a futurized cell to its end; call sites end here (``tracebacks.add_runner``)."""
    exec(code, namespace)
    abi.barrier()


tracebacks.add_runner(_execute.__code__)


def _cancel_after(exc: BaseException) -> None:
    """After an interrupt, or a failure with tasks still running: stop the workers, so
    that no one waits behind work that the cell will never use."""
    scheduler = _scheduler.current_or_none()
    if scheduler is None:
        return
    busy = scheduler.in_flight or scheduler.ready or any(scheduler.logs)
    if isinstance(exc, KeyboardInterrupt) or busy:
        stop_workers(cancel=True)


# -- names after the cell ----------------------------------------------------------

class _Unfinished(Exception):
    """A future in a name's value that never got one: its task failed or was cancelled."""


def _values(value):
    """``value`` with every future replaced by its value (in place in lists and dicts)."""
    for _ in range(100):  # a future's value may itself hold futures (a lazy xs[0])
        found: list = []
        values.find_futures(value, found)
        if not found:
            return value
        if any(future._af_value is _UNSET for future in found):
            raise _Unfinished
        # The namespace holds their values from now on: no longer private to futures
        # (runtime.runahead), for the next cells' reads of the futures themselves.
        runahead.share(found, 1)
        value = values.resolve(value)
    return value


def _settle(namespace: dict, before: dict, never_bound):
    """Give every name the cell bound its value; put back those the plain cell would
    not have bound (``never_bound``, and those waiting on a failed task). Returns the
    value of the cell's last expression."""
    for name, value in list(namespace.items()):
        old = before.get(name, _MISSING)
        if value is old:
            continue
        if _TEMPORARY.match(name):
            del namespace[name]
            continue
        try:
            if name in never_bound:
                raise _Unfinished
            namespace[name] = _values(value)
        except _Unfinished:
            if old is _MISSING:
                del namespace[name]
            else:
                namespace[name] = old
    return namespace.pop(VALUE, None)


def _cell_line(exc: BaseException, code) -> int | None:
    """The line of the cell where ``exc`` ended it (its outermost frame in the cell): for
    a task's error, its call site, not where the workflow had run ahead to."""
    tb = getattr(exc, "__autofuture_tb__", None) or exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is code:
            return tb.tb_lineno
        tb = tb.tb_next
    return None


def _bound_after(tree: ast.Module | None, line: int | None) -> set[str]:
    """Names bound only by top-level statements after ``line``: the plain cell, stopped
    there, never bound them, though the workflow may have run ahead to them."""
    if tree is None or line is None:
        return set()
    reached: set[str] = set()
    later: set[str] = set()
    for stmt in tree.body:
        (later if stmt.lineno > line else reached).update(_bound_names(stmt))
    return later - reached


def _bound_names(stmt: ast.stmt) -> set[str]:
    """Names a statement binds in the namespace it runs in (not inside functions,
    lambdas or classes; comprehension targets are included, harmlessly)."""
    names: set[str] = set()
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).partition(".")[0] for alias in node.names)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        stack.extend(ast.iter_child_nodes(node))
    return names
