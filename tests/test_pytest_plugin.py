"""The pytest plugin, as a user meets it: pytest run in a subprocess on marked test modules."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
import textwrap

import pytest

pytest_plugins = ["pytester"]


@functools.cache
def _registered() -> bool:
    """Whether pytest in a subprocess finds the ``pytest11`` entry point (metadata from
    an install made before it was added lacks it): else the test loads it with ``-p``."""
    code = ("from importlib import metadata; print(any("
            "ep.value == 'autofuture.entrypoints.pytest_plugin'"
            " for ep in metadata.entry_points(group='pytest11')))")
    with tempfile.TemporaryDirectory() as cwd:  # not this checkout's own egg-info
        out = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                             text=True, check=True).stdout
    return out.strip() == "True"


def _run(pytester: pytest.Pytester, *args: str):
    plugin = () if _registered() else ("-p", "autofuture.entrypoints.pytest_plugin")
    return pytester.runpytest_subprocess(*plugin, "-p", "no:cacheprovider", *args,
                                         timeout=120)


MODULE_TASKS = '''\
# autofuture
"""Module-level tasks feed the tests."""
import os

import autofuture


def square(x):
    return x * x


def worker_pid():
    return os.getpid()


squares = [square(i) for i in range(6)]
total = sum(squares)
task_pid = worker_pid()


def test_values():
    assert list(squares) == [0, 1, 4, 9, 16, 25]
    assert autofuture.result(total) == 55  # == on a future is identity


def test_pid(tmp_path_factory):
    with open(os.environ["PID_FILE"], "w") as file:
        file.write(f"{os.getpid()} {int(task_pid)}\\n")
'''


def test_module_level_tasks_feed_tests(pytester, tmp_path):
    pytester.makepyfile(test_marked=MODULE_TASKS)
    pid_file = tmp_path / "pids"
    pytester._monkeypatch.setenv("PID_FILE", str(pid_file))
    result = _run(pytester, "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["autofuture: marked test modules futurized, executor serial*"])
    main, task = pid_file.read_text().split()
    assert main == task  # serial by default: the tasks run in the pytest process


def test_executor_option_runs_tasks_on_workers(pytester, tmp_path):
    pytester.makepyfile(test_marked=MODULE_TASKS)
    pid_file = tmp_path / "pids"
    pytester._monkeypatch.setenv("PID_FILE", str(pid_file))
    result = _run(pytester, "--autofuture-executor", "loky", "--autofuture-workers", "2")
    result.assert_outcomes(passed=2)
    main, task = pid_file.read_text().split()
    assert main != task


def test_failing_task_in_workflow_test_points_at_its_lines(pytester):
    pytester.makepyfile(test_flow='''\
        # autofuture
        import autofuture


        def parse(text):
            return int(text)


        def test_plain_first():
            assert parse("2") == 2


        @autofuture.workflow
        def test_flow():
            numbers = [parse(t) for t in ["1", "2", "three"]]
            print(sum(numbers))
        ''')
    result = _run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        ">*numbers = [[]parse(t) for t in *",
        "test_flow.py:15: *",
        "    def parse(text):",
        ">       return int(text)",
        "E       ValueError: invalid literal for int() with base 10: 'three'",
        "test_flow.py:6: ValueError",
    ])
    assert "runtime/scheduler.py" not in result.stdout.str()
    assert "runtime/abi.py" not in result.stdout.str()


def test_failing_module_level_task_is_that_modules_error(pytester):
    pytester.makepyfile(test_broken='''\
        # autofuture
        def load(name):
            raise FileNotFoundError(name)


        data = load("missing.csv")


        def test_uses_data():
            assert data
        ''', test_fine='''\
        # autofuture
        import autofuture


        def double(x):
            return 2 * x


        value = double(21)


        def test_value():
            assert autofuture.result(value) == 42
        ''')
    result = _run(pytester, "--autofuture-executor", "loky", "--autofuture-workers", "2",
                  "--continue-on-collection-errors")
    result.assert_outcomes(passed=1, errors=1)  # the other module's work is untouched
    result.stdout.fnmatch_lines([
        "*ERROR collecting test_broken.py*",
        "*test_broken.py:6: in <module>",
        "*data = load(\"missing.csv\")",
        "*test_broken.py:3: in load",
        "*raise FileNotFoundError(name)",
        "E*FileNotFoundError: missing.csv",
    ])
    assert "runtime/scheduler.py" not in result.stdout.str()
    assert "runtime/abi.py" not in result.stdout.str()


def test_unmarked_modules_keep_assertion_rewriting(pytester):
    pytester.makepyfile(test_plain='''\
        def compute():
            return [1, 2, 3]


        def test_compare():
            assert compute() == [1, 2, 4]
        ''')
    result = _run(pytester, "--autofuture-executor", "loky")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "E*assert [[]1, 2, 3] == [[]1, 2, 4]",
        "E*At index 2 diff: 3 != 4",
    ])


def test_marked_imported_module_is_futurized(pytester, tmp_path):
    pytester.makepyfile(helpers='''\
        # autofuture
        import os


        def worker_pid():
            return os.getpid()


        pid = worker_pid()
        ''', test_uses_helpers='''\
        import os

        import helpers


        def test_pid():
            assert helpers.pid != os.getpid()
        ''')
    result = _run(pytester, "--autofuture-executor", "loky", "--autofuture-workers", "1")
    result.assert_outcomes(passed=1)


def test_bad_executor_is_a_usage_error(pytester):
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = _run(pytester, "--autofuture-executor", "nonsense")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--autofuture-executor*"])


def test_entry_point_is_declared():
    text = (os.path.join(os.path.dirname(__file__), os.pardir, "pyproject.toml"))
    with open(text, encoding="utf-8") as file:
        content = file.read()
    assert textwrap.dedent('''\
        [project.entry-points.pytest11]
        autofuture = "autofuture.entrypoints.pytest_plugin"
        ''') in content


def test_session_without_marked_test_modules_leaves_imports_alone(pytester):
    pytester.makepyfile(test_plain='''\
        import sys


        def test_no_hook():
            assert not any(type(f).__name__ == "MarkedFinder" for f in sys.meta_path)
        ''')
    _run(pytester).assert_outcomes(passed=1)
