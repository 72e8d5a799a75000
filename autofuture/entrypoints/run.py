"""Running a script futurized as ``__main__``, as ``python script.py`` would run it.

Shared by ``python -m autofuture`` and the start-up hook: ``sys.argv``,
``__name__ == "__main__"``, ``sys.path[0]`` and the exit status (``sys.exit(n)``
gives n, an uncaught error 1 with a traceback through the user's lines, 130
on Ctrl-C, 143 on SIGTERM) are what ``python`` gives.
"""

from __future__ import annotations

import atexit
import builtins
import gc
import os
import signal
import sys
import threading
import traceback
import types

from .. import _config
from .._errors import Terminated
from ..executors import registry
from ..observe import runlog
from ..runtime import abi, tracebacks
from ..runtime import scheduler as _scheduler
from . import spawn


def run(path: str, script_args: list[str], options, module_spec=None) -> int:
    """Run ``path`` as ``__main__``, futurized; return the exit status."""
    from ..language import hook as _hook

    _scheduler.configure(options)
    try:
        code = _hook.compile_path(path)
    except SyntaxError as exc:
        registry.discard_prestarted()
        traceback.print_exception(type(exc), exc, exc.__traceback__ if _config.debug() else None)
        return 1
    registry.preload(_installed_imports(code))
    watch = runlog.Watch(path, script_args, options)  # --trace, --progress, -v
    handle = _hook.install()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    # What is alive now is autofuture's, loky's and the standard library's, alive to
    # the end: out of the collector's way, the interpreter's exit no longer walks it
    # (15-20 ms of every run's end, after its last line; issue 16). Everything of the
    # script's, its module object included, is made after this and collected as in
    # plain Python, at exit too. (``cli.main`` kept the collector off until now.)
    gc.freeze()
    gc.enable()
    module = types.ModuleType("__main__")
    module.__dict__.update(__file__=os.path.abspath(path), __builtins__=builtins, __loader__=None,
                           __spec__=module_spec, __cached__=None, __package__=None)
    if module_spec is not None:
        module.__package__ = module_spec.parent
    # Registered before the script's own handlers, it runs after them, as the clearing of
    # ``__main__`` follows every handler in plain Python.
    atexit.register(_clear_module, module.__dict__)
    saved_main, saved_argv = sys.modules.get("__main__"), sys.argv
    sys.modules["__main__"] = module
    spawn.protect(module)  # a spawned child (a nanny, a spawn pool) must not run it again
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
        registry.discard_prestarted()  # workers started early for a run that made no task


def _clear_module(names: dict) -> None:
    """At exit, the script's globals go as the interpreter lets ``__main__``'s go:
    names beginning with one ``_`` first, then all but ``__builtins__``. A file the
    script left open is flushed and closed then (``open(p, "w").write(...)`` with no
    ``close``): its module is no longer ``sys.modules["__main__"]``, so the
    interpreter would not clear it, and its buffered data was lost."""
    for name in list(names):
        if name.startswith("_") and not name.startswith("__"):
            names[name] = None
    for name in list(names):
        if name != "__builtins__":
            names[name] = None


def _installed_imports(code) -> list[str]:
    """The installed packages (site-packages) the script imports at its top level.

    Workers that started early import them while the script runs up to its first
    task (``executors.registry.preload``): numpy took a worker 100-300 ms to import
    once the first task's function asked for it, after the workflow had imported it
    too. Only installed packages: never the user's own modules, which workers do not
    import (their functions travel by value), nor marked ones.
    """
    import dis
    import importlib.util
    import sysconfig

    from ..language import header

    paths = sysconfig.get_paths()
    roots = {os.path.realpath(paths[key]) + os.sep for key in ("purelib", "platlib")}
    names: list[str] = []
    for instruction in dis.get_instructions(code):
        if instruction.opname == "IMPORT_NAME":
            top = str(instruction.argval).partition(".")[0]
            if top and top not in names:
                names.append(top)
    found = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        origin = spec.origin if spec is not None else None
        if origin and os.path.realpath(origin).startswith(tuple(roots)) \
                and not header.is_marked_file(origin):
            found.append(name)
    return found


def _on_sigterm(signum, frame):
    """SIGTERM: stop like Ctrl-C, with the status a shell reports for it."""
    raise Terminated()


def _execute(code, module) -> int:
    try:
        try:
            exec(code, module.__dict__)
            abi.barrier()
        except (KeyboardInterrupt, Terminated):
            raise  # nothing more runs: no waiting for pending work
        except BaseException:
            abi.settle()  # an earlier failure, in program order, wins
            raise
    except SystemExit as exc:
        _shutdown(cancel=True)  # tasks after the exit in program order never ran in plain
        return _exit_status(exc)
    except KeyboardInterrupt as exc:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # a second Ctrl-C ends it at once
        _shutdown(cancel=True)
        _flush()
        tracebacks.print_exception(exc)
        return 130
    except Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends it at once
        _shutdown(cancel=True)
        _flush()
        return 128 + signal.SIGTERM
    except BaseException as exc:  # noqa: BLE001 - printed as python prints it
        _shutdown(cancel=True)
        _flush()
        tracebacks.print_exception(exc)
        return 1
    scheduler = _scheduler.current_or_none()
    summary = scheduler.keep_going_summary() if scheduler is not None else None
    _shutdown(cancel=False)
    if summary is not None:
        _flush()
        print(summary, file=sys.stderr)
        return 1
    return 0


tracebacks.add_runner(_execute.__code__)


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
