"""``python -m autofuture``: run a script futurized, or ``check`` / ``show`` files.

Behaves like ``python`` itself where users can see it: ``sys.argv``,
``__name__ == "__main__"``, ``sys.path[0]``, exit statuses (``sys.exit(n)``
gives n, an uncaught error 1 with a traceback through the user's lines, 130
on Ctrl-C, 2 on bad options).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import sys

from .. import _config

USAGE = """\
python -m autofuture [options] script.py [args ...]
       python -m autofuture [options] -m module [args ...]
       python -m autofuture check PATH [PATH ...]
       python -m autofuture show FILE
       python -m autofuture export --swift-t script.py [-o script.swift]
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


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _bytes(text: str) -> int:
    """'512M', '2G', '1.5G', '1000000': a size in bytes (K, M, G, T are powers of 1024)."""
    cleaned = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = cleaned[-1:] if cleaned[-1:] in _UNITS and cleaned[-1:] else ""
    try:
        value = float(cleaned[:-1] if unit else cleaned)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a size such as 512M or 2G, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text!r}")
    return int(value * _UNITS[unit])


def _seconds(text: str) -> float | None:
    from ..runtime import entries

    value, problem = entries.parse_timeout(text)
    if problem is not None or not text.strip():
        raise argparse.ArgumentTypeError(problem or "expected a number of seconds, got ''")
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
    parser.add_argument("--task-timeout", type=_seconds, default=None, metavar="SECONDS",
                        help="a task running longer fails with TimeoutError, its worker "
                             "killed and replaced (default: no limit; also "
                             "AUTOFUTURE_TASK_TIMEOUT; autofuture.task(timeout=...) sets it "
                             "per task)")
    parser.add_argument("--lookahead", type=_positive, default=10_000,
                        help="how many pending operations the workflow may run ahead "
                             "(default: 10000)")
    parser.add_argument("--worker-memory", type=_bytes, default=None, metavar="SIZE",
                        help="how much of its results a worker may keep for later tasks "
                             "(e.g. 2G; default: half the machine's memory divided among "
                             "the workers); past it, the oldest go to the workflow process")
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
    from .._version import __version__

    return __version__


def _subcommand(argv: list[str]) -> int:
    """check, show, export or report; into a pipe closed early (``autofuture show
    x.py | head``) it ends quietly, as ``cat`` and ``git`` do.

    Only for autofuture's own commands: a script run under autofuture meets a
    closed pipe exactly as under ``python``, traceback and all.
    """
    try:
        status = _dispatch(argv)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # Python would try again to flush stdout at exit and print a second error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a writer killed by the pipe


def _dispatch(argv: list[str]) -> int:
    if argv[0] in ("check", "show"):
        from . import commands  # not imported by a run: it loads the whole checker

        return (commands.check_command if argv[0] == "check" else commands.show_command)(
            argv[1:])
    if argv[0] == "export":
        from . import export as _export

        return _export.command(argv[1:])
    from ..observe import report as _report

    return _report.command(argv[1:])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["check"], ["show"], ["export"], ["report"]):
        return _subcommand(argv)
    if argv[:1] == ["startup-hook"]:
        from . import startup as _startup

        return _startup.command(argv[1:])
    # No collection while autofuture starts (~7 % of its CPU before the script runs,
    # issue 16): what it makes lives to the end, and ``run`` freezes it, then enables
    # the collector for the script.
    gc.disable()
    parser = _run_parser()
    args = parser.parse_args(argv)
    if args.module is None and not args.target:
        parser.error("give a script to run (or -m module, or check/show)")
    executor = args.executor or os.environ.get("AUTOFUTURE_EXECUTOR")
    from ..executors.mpi import world

    if world.world_size_hint() > 1:  # under mpiexec/srun: rank 0 runs the workflow
        from ..executors.mpi import rank

        status = rank.launch(executor)  # ranks 1..N-1 serve tasks, never the script
        if status is not None:
            return status
        executor = executor or "mpi"
    executor = executor or "loky"
    if executor == "loky":
        from ..executors import prespawn  # the first worker boots from here (issue 16)

        prespawn.start()
    from ..executors import registry
    from ..runtime import entries

    problem = registry.check_name(executor)
    if problem is not None:
        parser.error(problem)
    task_timeout = args.task_timeout
    if task_timeout is None:
        task_timeout, problem = entries.parse_timeout(_config.env_str("TASK_TIMEOUT") or "")
        if problem is not None:
            parser.error(f"AUTOFUTURE_TASK_TIMEOUT: {problem}")
    # The workers boot from here on, while the run's own modules are imported, and the
    # script read and run up to its first task, which takes them (issue 16).
    registry.prestart(executor, args.workers, live_output=args.task_output == "live")
    try:
        return _configured(args, executor, task_timeout)
    finally:
        gc.enable()  # (enabled already if the script ran)
        registry.discard_prestarted()  # untaken: no script there, or it made no task


def _configured(args, executor: str, task_timeout) -> int:
    from ..observe import runlog
    from ..runtime import scheduler as _scheduler

    options = _scheduler.Options(executor=executor, workers=args.workers,
                                 lookahead=args.lookahead, keep_going=args.keep_going,
                                 task_output=args.task_output, retries=args.retries,
                                 checkpoint=args.checkpoint,
                                 worker_memory=args.worker_memory,
                                 task_timeout=task_timeout)
    _scheduler.configure(options)
    options.trace, options.progress = args.trace, args.progress  # observers, see run()
    runlog.setup(args.verbose - args.quiet)
    if args.module is not None:
        from ..language import hook as _hook

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
        return _run(spec.origin, args.target, options, module_spec=spec)
    path, *script_args = args.target
    if os.path.isdir(path):  # a directory runs its __main__.py, as with python
        main_file = os.path.join(path, "__main__.py")
        if not os.path.isfile(main_file):
            print(f"{sys.executable}: can't find '__main__' module in {path!r}",
                  file=sys.stderr)
            return 1
        sys.path.insert(0, os.path.abspath(path))
        return _run(main_file, script_args, options)
    if not os.path.exists(path):
        print(f"{sys.executable}: can't open file {os.path.abspath(path)!r}: "
              "[Errno 2] No such file or directory", file=sys.stderr)
        return 2
    return _run(path, script_args, options)


def _run(path: str, script_args: list[str], options, module_spec=None) -> int:
    """Run the script, its workers booting (``main``) while it is read and rewritten."""
    from .run import run

    return run(path, script_args, options, module_spec=module_spec)
