"""``python -m autofuture``: run a script futurized, or ``check`` / ``show`` files.

Behaves like ``python`` itself where users can see it: ``sys.argv``,
``__name__ == "__main__"``, ``sys.path[0]``, exit statuses (``sys.exit(n)``
gives n, an uncaught error 1 with a traceback through the user's lines, 130
on Ctrl-C, 2 on bad options).
"""

from __future__ import annotations

import gc
import os
import sys

from .. import _config


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
    from ..executors import prespawn

    if _loky_at_a_glance(argv):
        prespawn.start()  # the first worker boots from here (issue 16)
    try:
        return _main(argv)
    finally:
        gc.enable()  # (enabled already if the script ran)
        prespawn.discard()  # untaken: a bad option, --help, or another executor


def _loky_at_a_glance(argv: list[str]) -> bool:
    """Whether the run will use loky, told before argparse and the MPI module are
    imported (~25 ms), so that the first worker boots that much sooner. A guess
    only decides when it starts: ``_main`` starts it if the guess missed, and
    ``main`` ends it if the run uses something else."""
    return (
        os.environ.get("AUTOFUTURE_EXECUTOR", "loky") in ("", "loky")
        and not any(arg.startswith("--e") for arg in argv)  # --executor, abbreviated too
        and not any(name.startswith(_LAUNCHERS) for name in os.environ)
    )


#: Variables an MPI or batch launcher sets: under one, the run may be MPI's.
_LAUNCHERS = ("OMPI_", "PMI_", "PMIX_", "MV2_", "PALS_", "SLURM_")


def _main(argv: list[str]) -> int:
    from . import options

    parser = options.parser()
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
    from ..executors import prespawn

    if executor == "loky":
        prespawn.start()  # (started already, unless the glance missed)
    else:
        prespawn.discard()
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
        import importlib.util

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
