"""``python -m autofuture``: run a script futurized, or ``check`` / ``show`` files.

Behaves like ``python`` itself where users can see it: ``sys.argv``,
``__name__ == "__main__"``, ``sys.path[0]``, exit statuses (``sys.exit(n)``
gives n, an uncaught error 1 with a traceback through the user's lines, 130
on Ctrl-C, 2 on bad options).
"""

from __future__ import annotations

import argparse
import builtins
import importlib.util
import os
import signal
import sys
import threading
import traceback
import types

from . import _config, _executors, _log, _pipeline, _runtime, _scheduler, _spawn, _tb
from ._errors import Terminated

USAGE = """\
python -m autofuture [options] script.py [args ...]
       python -m autofuture [options] -m module [args ...]
       python -m autofuture check PATH [PATH ...]
       python -m autofuture show FILE
       python -m autofuture report TRACE [-o report.html] [--graph FILE.dot]
       python -m autofuture startup-hook {install,uninstall,status}"""


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autofuture", usage=USAGE,
        description="Run a Python script with its task calls in parallel; it prints what "
                    "its plain run prints.",
    )
    parser.add_argument("-n", "--workers", type=_positive, default=None,
                        help="number of workers (default: all cores)")
    parser.add_argument("--executor", default=None,
                        metavar="{loky,mpi,thread,serial,dask,dask://HOST:PORT,parsl,"
                                "parsl:CONFIG,MODULE:FACTORY}",
                        help="what runs the tasks (default: loky; mpi under mpiexec)")
    parser.add_argument("--keep-going", action="store_true",
                        help="finish all work that does not depend on a failure")
    parser.add_argument("--checkpoint", metavar="DIR", default=None,
                        help="keep each finished task's result in DIR, so that running the "
                             "program again recomputes nothing already done")
    parser.add_argument("--retries", type=int, default=0, metavar="N",
                        help="run a task whose worker died up to N more times (default: 0; "
                             "autofuture.task(retries=..., retry_on=...) sets it per task)")
    parser.add_argument("--lookahead", type=_positive, default=10_000,
                        help="how many pending operations the workflow may run ahead "
                             "(default: 10000)")
    parser.add_argument("--task-output", choices=("capture", "live"), default="capture",
                        help="'capture' replays a task's prints at its call's turn (default); "
                             "'live' lets them through as they happen")
    parser.add_argument("--trace", metavar="FILE", default=None,
                        help="write every task's events to FILE as JSON lines while it runs "
                             "(autofuture report FILE makes a page of them)")
    parser.add_argument("--progress", dest="progress", action="store_const", const="auto",
                        default="never",
                        help="a live bar of the tasks on stderr, when stderr is a terminal")
    parser.add_argument("--progress=always", dest="progress", action="store_const",
                        const="always", help="the bar even when stderr is not a terminal")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="say on stderr what autofuture does: executor, workers, a summary "
                             "(-vv: every batch)")
    parser.add_argument("-q", "--quiet", action="count", default=0,
                        help="print nothing of autofuture's own but errors")
    parser.add_argument("--version", action="version", version=f"autofuture {_version()}")
    parser.add_argument("-m", dest="module", metavar="module", default=None,
                        help="run a module as a script, like python -m")
    parser.add_argument("target", nargs=argparse.REMAINDER,
                        help="the script and its arguments")
    return parser


def _version() -> str:
    from . import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["check"]:
        return check_command(argv[1:])
    if argv[:1] == ["show"]:
        return show_command(argv[1:])
    if argv[:1] == ["report"]:
        from . import _report

        return _report.command(argv[1:])
    if argv[:1] == ["startup-hook"]:
        from . import _startup

        return _startup.command(argv[1:])
    parser = _run_parser()
    args = parser.parse_args(argv)
    if args.module is None and not args.target:
        parser.error("give a script to run (or -m module, or check/show)")
    executor = args.executor or os.environ.get("AUTOFUTURE_EXECUTOR")
    from . import _mpi

    if _mpi.world_size_hint() > 1:  # under mpiexec/srun: rank 0 runs the workflow
        status = _mpi.launch(executor)  # ranks 1..N-1 serve tasks, never the script
        if status is not None:
            return status
        executor = executor or "mpi"
    executor = executor or "loky"
    problem = _executors.check_name(executor)
    if problem is not None:
        parser.error(problem)
    options = _scheduler.Options(executor=executor, workers=args.workers,
                                 lookahead=args.lookahead, keep_going=args.keep_going,
                                 task_output=args.task_output, retries=args.retries,
                                 checkpoint=args.checkpoint)
    _scheduler.configure(options)
    options.trace, options.progress = args.trace, args.progress  # observers, see run()
    _log.setup(args.verbose - args.quiet)
    if args.module is not None:
        from . import _hook

        sys.path[0] = os.getcwd()  # as python -m does, also under the console script
        try:
            with _hook.install():  # parent packages of a marked module are marked too
                spec = importlib.util.find_spec(args.module)
                if spec is not None and spec.submodule_search_locations is not None:
                    spec = importlib.util.find_spec(args.module + ".__main__")
        except ImportError:
            spec = None
        if spec is None or spec.origin is None:
            print(f"{sys.executable}: No module named {args.module}", file=sys.stderr)
            return 1
        return run(spec.origin, args.target, options, module_spec=spec)
    path, *script_args = args.target
    if os.path.isdir(path):  # a directory runs its __main__.py, as with python
        main_file = os.path.join(path, "__main__.py")
        if not os.path.isfile(main_file):
            print(f"{sys.executable}: can't find '__main__' module in {path!r}",
                  file=sys.stderr)
            return 1
        sys.path.insert(0, os.path.abspath(path))
        return run(main_file, script_args, options)
    if not os.path.exists(path):
        print(f"{sys.executable}: can't open file {os.path.abspath(path)!r}: "
              "[Errno 2] No such file or directory", file=sys.stderr)
        return 2
    return run(path, script_args, options)


def run(path: str, script_args: list[str], options, module_spec=None) -> int:
    """Run ``path`` as ``__main__``, futurized; return the exit status."""
    from . import _hook

    _scheduler.configure(options)
    try:
        code = _hook.compile_path(path)
    except SyntaxError as exc:
        traceback.print_exception(type(exc), exc, exc.__traceback__ if _config.debug() else None)
        return 1
    try:
        watch = _log.Watch(path, script_args, options)  # --trace, --progress, -v
    except OSError as exc:
        print(f"python -m autofuture: error: --trace: cannot write {exc.filename}: "
              f"{exc.strerror}", file=sys.stderr)
        return 2
    handle = _hook.install()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    module = types.ModuleType("__main__")
    module.__dict__.update(__file__=os.path.abspath(path), __builtins__=builtins, __loader__=None,
                           __spec__=module_spec, __cached__=None, __package__=None)
    if module_spec is not None:
        module.__package__ = module_spec.parent
    saved_main, saved_argv = sys.modules.get("__main__"), sys.argv
    sys.modules["__main__"] = module
    _spawn.protect(module)  # a spawned child (a nanny, a spawn pool) must not run it again
    sys.argv = [path, *script_args]
    if module_spec is None:
        sys.path[0] = os.path.dirname(os.path.abspath(path))
    else:
        sys.path[0] = os.getcwd()
    status = None
    try:
        status = _execute(code, module)
        return status
    finally:
        watch.close(status)
        handle.uninstall()
        sys.modules["__main__"], sys.argv = saved_main, saved_argv
        _scheduler.reset()


def _on_sigterm(signum, frame):
    """SIGTERM: stop like Ctrl-C, with the status a shell reports for it."""
    raise Terminated()


def _execute(code, module) -> int:
    try:
        try:
            exec(code, module.__dict__)
            _runtime.barrier()
        except (KeyboardInterrupt, Terminated):
            raise  # nothing more runs: no waiting for pending work
        except BaseException:
            _runtime.settle()  # an earlier failure, in program order, wins
            raise
    except SystemExit as exc:
        _shutdown(cancel=True)  # tasks after the exit in program order never ran in plain
        return _exit_status(exc)
    except KeyboardInterrupt as exc:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # a second Ctrl-C ends it at once
        _shutdown(cancel=True)
        _flush()
        _tb.print_exception(exc)
        return 130
    except Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends it at once
        _shutdown(cancel=True)
        _flush()
        return 128 + signal.SIGTERM
    except BaseException as exc:  # noqa: BLE001 - printed as python prints it
        _shutdown(cancel=True)
        _flush()
        _tb.print_exception(exc)
        return 1
    scheduler = _scheduler.current_or_none()
    summary = scheduler.keep_going_summary() if scheduler is not None else None
    _shutdown(cancel=False)
    if summary is not None:
        _flush()
        print(summary, file=sys.stderr)
        return 1
    return 0


_tb.add_runner(_execute.__code__)


def _shutdown(cancel: bool) -> None:
    scheduler = _scheduler.current_or_none()
    if scheduler is not None:
        scheduler.shutdown(cancel=cancel)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _exit_status(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    _flush()
    print(code, file=sys.stderr)
    return 1


# -- check and show ---------------------------------------------------------------

def _python_files(paths: list[str]):
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                                 and d not in ("__pycache__", "node_modules"))
                for name in sorted(files):
                    if name.endswith(".py"):
                        yield os.path.join(root, name)
        else:
            yield path


def check_command(argv: list[str]) -> int:
    """``autofuture check PATH...``: every problem of every marked file, one per line."""
    from ._header import is_marked

    parser = argparse.ArgumentParser(
        prog="autofuture check",
        description="Report single-assignment and arity problems of marked modules "
                    "without running them.")
    parser.add_argument("paths", nargs="+", metavar="PATH")
    args = parser.parse_args(argv)
    found = 0
    for path in _python_files(args.paths):
        try:
            with open(path, "rb") as file:
                source = file.read()
        except OSError as exc:
            print(f"{path}:0:1: AF000 cannot read: {exc.strerror}")
            found += 1
            continue
        if not is_marked(source):
            continue
        try:
            problems = _pipeline.problems(source, path)
        except SyntaxError as exc:
            print(f"{path}:{exc.lineno or 0}:{exc.offset or 1}: E999 SyntaxError: {exc.msg}")
            found += 1
            continue
        for problem in problems:
            print(problem.format())
            found += 1
    return 1 if found else 0


def show_command(argv: list[str]) -> int:
    """``autofuture show FILE``: the rewritten source, as the runtime will run it."""
    parser = argparse.ArgumentParser(prog="autofuture show",
                                     description="Print the rewritten source of a file.")
    parser.add_argument("file", metavar="FILE")
    args = parser.parse_args(argv)
    try:
        with open(args.file, "rb") as file:
            source = file.read()
    except OSError as exc:
        print(f"autofuture show: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        print(_pipeline.show(source, args.file))
    except SyntaxError as exc:
        traceback.print_exception(type(exc), exc, None)
        return 1
    return 0
