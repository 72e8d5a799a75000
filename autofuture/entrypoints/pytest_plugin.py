"""The pytest plugin (entry point ``pytest11``, name ``autofuture``).

With it, pytest imports marked test modules -- and the marked modules they
import -- futurized: module-level task calls run on workers while pytest goes
on collecting, and the bodies of ``@autofuture.workflow`` tests are futurized.

* ``--autofuture-executor`` picks what runs the tasks: ``serial`` by default,
  so that a test suite stays deterministic and a debugger stops inside tasks;
  ``loky`` for real parallelism (also ``thread`` or ``MODULE:FACTORY``).
  ``--autofuture-workers N`` sets the number of workers.
* The import hook is installed when the first marked test module is
  collected (or in ``pytest_configure`` when an autofuture option or ini value
  is given), after pytest's assertion rewriter, and goes first on
  ``sys.meta_path``: marked modules are futurized (and not
  assertion-rewritten), unmarked ones are left to pytest.  A session without
  marked test modules keeps the import system untouched.
* Work is settled where it was made, so that a failing task fails the test
  that made it, with the task's own lines in the report: a marked module's
  module-level work right after its import (a failure is that module's
  collection error), a test's work when the test ends.
* ``pytest_unconfigure`` removes the hook and stops the workers.

``-p no:autofuture`` turns the plugin off.
"""

from __future__ import annotations

import pytest

_STATE: dict = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autofuture", "autofuture: futurized test modules")
    group.addoption("--autofuture-executor", default=None,
                    metavar="{serial,loky,thread,MODULE:FACTORY}",
                    help="what runs the tasks of marked test modules (default: serial, "
                         "or the autofuture_executor ini value); giving it installs the "
                         "import hook for the whole session")
    group.addoption("--autofuture-workers", type=int, default=None, metavar="N",
                    help="number of workers (default: all cores)")
    parser.addini("autofuture_executor", "default for --autofuture-executor (setting it "
                  "installs the import hook for the whole session)", default=None)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    from autofuture.executors import registry

    chosen = config.getoption("autofuture_executor") or config.getini("autofuture_executor")
    executor = chosen or "serial"
    problem = registry.check_name(executor)
    if problem is not None:
        raise pytest.UsageError(f"--autofuture-executor: {problem}")
    workers = config.getoption("autofuture_workers")
    if workers is not None and workers < 1:
        raise pytest.UsageError(f"--autofuture-workers: must be at least 1, got {workers}")
    _STATE["options"] = {"executor": executor, "workers": workers}
    if chosen or workers is not None:
        _install()  # asked for: marked modules imported by unmarked tests are futurized too


def _install() -> None:
    """Install the hook (once): from the options, or when a marked test module is found.

    Not before: a session without marked test modules keeps the import system as
    it is (autofuture's own test suite checks ``sys.meta_path``)."""
    if "handle" not in _STATE and "options" in _STATE:
        from autofuture.entrypoints.install import install

        _STATE["handle"] = install(**_STATE["options"])


def pytest_unconfigure(config: pytest.Config) -> None:
    from autofuture.runtime import scheduler as _scheduler

    _STATE.pop("options", None)
    handle = _STATE.pop("handle", None)
    if handle is None:
        return
    handle.uninstall()
    scheduler = _scheduler.current_or_none()
    if scheduler is not None:
        scheduler.shutdown(cancel=False)
    _scheduler.reset()


def pytest_report_header(config: pytest.Config) -> str | None:
    options = _STATE.get("options")
    if options is None:
        return None
    workers = options["workers"] or "all cores"
    return (f"autofuture: marked test modules futurized, executor {options['executor']}, "
            f"workers {workers}")


def _settle() -> None:
    """Commit the pending work of the current log; its first failure is raised here."""
    if "handle" not in _STATE:
        return
    from autofuture.runtime import scheduler as _scheduler

    scheduler = _scheduler.current_or_none()
    if scheduler is not None and not scheduler.closed and scheduler.on_workflow_thread():
        scheduler.barrier()


def _clean(exc: BaseException) -> None:
    """Give a task's failure the traceback a plain run shows: the call site, then the
    task's own lines on the worker, without autofuture's frames.  pytest then cuts it
    at the test (or the test module) as usual."""
    from autofuture.runtime import tracebacks

    tracebacks.clean(exc)


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makemodule(module_path, parent):
    module = yield
    if "options" in _STATE and isinstance(module, pytest.Module) and hasattr(module, "_getobj"):
        from autofuture.language import header

        try:
            marked = header.is_marked_file(module_path)
        except OSError:
            marked = False
        if marked:
            _install()
            _clean_import_errors(module)
    return module


def _clean_import_errors(module: pytest.Module) -> None:
    """A marked module's import runs its module-level work to the end (the runtime
    waits for it there), so a failing module-level task fails the import: the module's
    collection error, with the task's lines."""
    import_module = module._getobj

    def _getobj():
        try:
            return import_module()
        except BaseException as exc:
            _clean(exc)
            raise

    module._getobj = _getobj


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem):
    """A test's pending work is finished within it (a ``@autofuture.workflow`` test's
    own return waits for it too), and its failures get the task's lines."""
    try:
        try:
            result = yield
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:
            _settle()  # an earlier failure, in program order, wins: as in a script
            raise
        _settle()
    except BaseException as exc:
        _clean(exc)
        raise
    return result
