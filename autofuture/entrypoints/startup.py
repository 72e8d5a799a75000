"""The opt-in start-up hook: ``python script.py`` futurizes marked code.

``python -m autofuture startup-hook install`` writes ``autofuture-startup.pth``
into the running interpreter's site-packages.  Its one line loads this file
at every start of that interpreter, so this module must cost next to nothing
and must never break Python:

* it is loaded as a standalone module (``_autofuture_startup``), without
  importing the ``autofuture`` package, which pulls in ``inspect``,
  ``concurrent.futures`` and ``logging``;
* it imports nothing beyond ``os`` and ``sys`` (already loaded by ``site``);
* the ``.pth`` line wraps everything in ``try``/``except``: an autofuture that
  is broken, half-uninstalled or from another Python is silently skipped.

When it runs, ``site`` is still being processed: ``sys.path[0]`` is not the
script's directory yet, the other ``.pth`` files and ``sitecustomize`` have
not run, and ``__main__`` is empty.  Running the program from there would run
it in a half-initialised interpreter, so :func:`activate` only adds an audit
hook (PEP 578) and returns.  CPython raises the ``cpython.run_file`` event
with the script's path once start-up is complete, right before it runs the
script; the hook then decides:

* the script carries the mark: it runs futurized through
  :func:`autofuture.entrypoints.run.run` (as ``python -m autofuture script.py`` would,
  with the ``AUTOFUTURE_EXECUTOR`` and ``AUTOFUTURE_WORKERS`` variables), and
  the hook raises ``SystemExit`` with its status, which CPython turns into the
  process's exit status instead of running the file a second time;
* otherwise: a light finder goes on ``sys.meta_path`` and imports autofuture
  only when a marked module is imported; then the real import hook takes over
  (``autofuture.install()``), and at exit the pending work is finished and
  the workers stopped.

Only ``python script.py`` is handled: ``python -m module``, ``python -c`` and
the interactive prompt are left alone (worker processes start that way: a
multiprocessing or loky worker must never futurize anything), as is every
interpreter where ``AUTOFUTURE_STARTUP=0``.  After its first ``run_*``
event the audit hook returns at once; an audit hook cannot be removed.
"""

import os
import sys

#: What ``python -m autofuture startup-hook install`` writes (also hooks/autofuture.pth).
PTH_NAME = "autofuture-startup.pth"
PTH_LINE = (
    "import sys; exec(\"try:\\n import importlib.util as u\\n"
    " s = u.find_spec('autofuture')\\n"
    " p = s and s.submodule_search_locations and "
    "__import__('os').path.join(list(s.submodule_search_locations)[0],"
    " 'entrypoints', 'startup.py')\\n"
    " if p and '_autofuture_startup' not in sys.modules:\\n"
    "  s = u.spec_from_file_location('_autofuture_startup', p)\\n"
    "  m = u.module_from_spec(s); sys.modules['_autofuture_startup'] = m\\n"
    "  s.loader.exec_module(m); m.activate()\\n"
    "except Exception:\\n pass\")\n"
)

_MARK = b"# autofuture"
_state = {"active": False, "decided": False}


def activate() -> None:
    """Called once per interpreter by the ``.pth`` line: add the audit hook."""
    if _state["active"] or os.environ.get("AUTOFUTURE_STARTUP", "1") == "0":
        return
    _state["active"] = True
    sys.addaudithook(_on_event)


def _on_event(event, args):
    if _state["decided"] or not event.startswith("cpython.run_"):
        return
    _state["decided"] = True
    if event != "cpython.run_file":
        return  # -m, -c, stdin, PYTHONSTARTUP: not ours
    try:
        path = os.fsdecode(args[0])
        marked = _is_marked(path)
    except Exception:
        return
    if marked:
        raise SystemExit(_run_marked(path))
    try:
        sys.meta_path.insert(0, _LazyFinder())
    except Exception:
        pass


def _may_carry_mark(file) -> bool:
    """The cheap byte test: no ``# autofuture`` anywhere means no mark.

    Most files answer from their first 8 KiB; a longer one is read on, since
    its header (a long docstring) may put the mark further down.
    """
    head = file.read(8192)
    return _MARK in head or (len(head) == 8192 and _MARK in head[-len(_MARK):] + file.read())


def _is_marked(path: str) -> bool:
    """Whether the script carries the mark; a cheap byte test first, then the real one."""
    if not path.endswith(".py"):
        return False
    with open(path, "rb") as file:
        if not _may_carry_mark(file):
            return False
    from autofuture.language import header as _header

    return _header.is_marked_file(path)


def _run_marked(path: str) -> int:
    """Run the marked main script futurized, as ``python -m autofuture script.py`` does."""
    from autofuture.entrypoints import run
    from autofuture.executors import registry
    from autofuture.runtime import scheduler as _scheduler

    options = _scheduler.Options()
    problem = registry.check_name(options.executor)
    if problem is not None:
        print(f"autofuture start-up hook: AUTOFUTURE_EXECUTOR: {problem}", file=sys.stderr)
        return 2
    return run.run(path, sys.argv[1:], options)


def _site_roots():
    import site

    roots = [os.path.dirname(os.__file__)]
    try:
        roots += site.getsitepackages()
        roots.append(site.getusersitepackages())
    except Exception:
        pass
    return tuple(os.path.join(os.path.realpath(r), "") for r in roots if r)


class _LazyFinder:
    """First on ``sys.meta_path``; never claims a module itself.

    It asks ``PathFinder`` where the module is, and for a ``.py`` file outside
    the standard library and site-packages whose header holds the mark, it
    imports autofuture, installs its hook, steps aside and hands the import to
    autofuture's finder.  Until then autofuture is not even imported.
    """

    def __init__(self):
        self.roots = _site_roots()
        self.busy = set()  # threads inside find_spec

    def find_spec(self, fullname, path=None, target=None):
        if (self.busy or fullname in sys.builtin_module_names
                or fullname.partition(".")[0] == "autofuture"):
            return None
        self.busy = True  # the imports below must not come back here
        try:
            marked = self._marked(fullname, path, target)
        except Exception:
            marked = False
        finally:
            self.busy = set()  # threads inside find_spec
        if not marked:
            return None
        try:
            return _hand_over(self, fullname, path, target)
        except Exception as exc:  # a broken autofuture: the module runs plain, said once
            sys.meta_path[:] = [f for f in sys.meta_path if f is not self]
            print(f"autofuture start-up hook: cannot futurize {fullname} "
                  f"({type(exc).__name__}: {exc}); it runs as plain Python", file=sys.stderr)
            return None

    def _marked(self, fullname, path, target) -> bool:
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(fullname, path, target)
        origin = getattr(spec, "origin", None)
        if not origin or not origin.endswith(".py"):
            return False
        if os.path.realpath(origin).startswith(self.roots):
            return False
        with open(origin, "rb") as file:
            if not _may_carry_mark(file):
                return False
        from autofuture.language import header as _header

        return _header.is_marked_file(origin)


def _hand_over(lazy, fullname, path, target):
    """A marked module is being imported: the real hook from now on."""
    sys.meta_path[:] = [f for f in sys.meta_path if f is not lazy]
    import atexit

    from autofuture.entrypoints.install import install
    from autofuture.language import hook as _hook

    install()
    atexit.register(_finish)
    return _hook.finder().find_spec(fullname, path, target)


def _finish() -> None:
    """At exit: run the pending work of marked modules, then stop the workers."""
    from autofuture.runtime import scheduler as _scheduler
    from autofuture.runtime import tracebacks

    scheduler = _scheduler.current_or_none()
    if scheduler is None:
        return
    try:
        scheduler.barrier()
    except BaseException as exc:  # noqa: BLE001 - printed, as an uncaught error is
        sys.stdout.flush()
        tracebacks.print_exception(exc)
        scheduler.shutdown(cancel=True)
    else:
        scheduler.shutdown(cancel=False)
    _scheduler.reset()


# -- python -m autofuture startup-hook install | uninstall | status ---------------------

def pth_path() -> str:
    """Where the ``.pth`` file goes: the running interpreter's site-packages."""
    import sysconfig

    return os.path.join(sysconfig.get_paths()["purelib"], PTH_NAME)


def command(argv) -> int:
    """``autofuture startup-hook install|uninstall|status``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m autofuture startup-hook",
        description="Install or remove the opt-in start-up hook: with it, 'python script.py' "
                    "in this environment runs a marked script futurized and futurizes the "
                    "marked modules a plain script imports.")
    parser.add_argument("action", choices=("install", "uninstall", "status"))
    args = parser.parse_args(argv)
    target = pth_path()
    if args.action == "status":
        state = "installed" if os.path.exists(target) else "not installed"
        print(f"autofuture start-up hook: {state} ({target})")
        return 0
    if args.action == "uninstall":
        try:
            os.remove(target)
        except FileNotFoundError:
            print(f"autofuture start-up hook: was not installed ({target})")
            return 0
        except OSError as exc:
            print(f"autofuture startup-hook: cannot remove {target}: {exc.strerror}",
                  file=sys.stderr)
            return 1
        print(f"autofuture start-up hook: removed {target}")
        return 0
    temporary = f"{target}.{os.getpid()}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as file:
            file.write(PTH_LINE)
        os.replace(temporary, target)  # atomic: a starting interpreter never sees half a line
    except OSError as exc:
        print(f"autofuture startup-hook: cannot write {target}: {exc.strerror}",
              file=sys.stderr)
        return 1
    print(f"autofuture start-up hook: installed {target}\n"
          "'python script.py' now runs marked scripts futurized in this environment; "
          "'python -m autofuture startup-hook uninstall' removes it.")
    return 0
