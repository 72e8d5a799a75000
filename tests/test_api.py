"""The public surface: what ``import autofuture`` offers, and ``install()`` from plain code."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import e2e
import pytest

import autofuture

DOCUMENTED = {
    "ArityError", "Future", "MarkedModuleImportedEarly", "ModuleStateWarning", "RebindError",
    "RemoteError",
    "SerializationError", "WorkerLostError", "install", "local", "result", "task", "workflow",
}


def test_exports_are_the_documented_ones():
    assert set(autofuture.__all__) == DOCUMENTED
    for name in DOCUMENTED:
        assert getattr(autofuture, name) is not None


def test_errors_are_the_python_kinds_users_catch():
    assert issubclass(autofuture.RebindError, SyntaxError)
    assert issubclass(autofuture.ArityError, SyntaxError)
    assert issubclass(autofuture.SerializationError, TypeError)
    assert issubclass(autofuture.MarkedModuleImportedEarly, UserWarning)
    assert issubclass(autofuture.ModuleStateWarning, UserWarning)
    for error in (autofuture.RebindError, autofuture.RemoteError, autofuture.WorkerLostError,
                  autofuture.ModuleStateWarning):
        assert error.__module__ == "autofuture"  # as tracebacks print them


def test_decorators_leave_plain_calls_alone():
    @autofuture.task
    def double(x):
        return 2 * x

    @autofuture.local
    def triple(x):
        return 3 * x

    @autofuture.workflow
    def main(x):
        return double(x) + triple(x)

    assert main(1) == 5
    assert autofuture.task(abs)(-4) == 4  # a builtin gets a wrapper that still calls it
    assert autofuture.result(7) == 7


def test_install_rejects_unknown_options():
    with pytest.raises(TypeError, match="unknown options.*'worker'"):
        autofuture.install(worker=2)


def run(tmp_path, files: dict[str, str], main: str) -> subprocess.CompletedProcess:
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    return subprocess.run([sys.executable, main], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env=e2e._child_env(None))


LIBRARY = """\
    # autofuture
    import os
    import autofuture

    def item(i):
        return (i * 10, os.getpid())

    @autofuture.workflow
    def run(n):
        pairs = [item(i) for i in range(n)]
        for value, pid in pairs:
            print("item", value)
        return [value for value, pid in pairs], {pid for value, pid in pairs}
"""


def test_workflow_called_from_plain_code_returns_values_after_its_work(tmp_path):
    """A plain caller gets values, and the workflow's prints come before the caller's."""
    caller = """\
        import os
        import autofuture

        with autofuture.install(executor="loky", workers=2):
            import wflib
            values, pids = wflib.run(4)
        print("values", values, type(values).__name__)
        print("ran elsewhere", os.getpid() not in pids)
        print("end")
    """
    result = run(tmp_path, {"wflib.py": LIBRARY, "caller.py": caller}, "caller.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "item 0", "item 10", "item 20", "item 30",
        "values [0, 10, 20, 30] list", "ran elsewhere True", "end",
    ]


def test_install_options_choose_the_executor(tmp_path):
    caller = """\
        import os
        import autofuture

        with autofuture.install(executor="serial"):
            import wflib
            values, pids = wflib.run(2)
        print(values, pids == {os.getpid()})
    """
    result = run(tmp_path, {"wflib.py": LIBRARY, "caller.py": caller}, "caller.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["item 0", "item 10", "[0, 10] True"]
