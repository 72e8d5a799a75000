"""``python -m autofuture`` and the ``autofuture`` console script, as a user meets them:
options and exit statuses, ``sys.argv``/``sys.path``/``__name__``, ``-m``, Ctrl-C,
``check``, ``show``, load-time errors and ``AUTOFUTURE_DEBUG``.

Every run is a subprocess with a hard timeout in a session of its own (see e2e.py);
``conftest.py`` fails a test whose runs leave a process behind.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import sysconfig
import textwrap
import time
from pathlib import Path

import e2e
import pytest

TIMEOUT = 60.0
MODULE = [sys.executable, "-m", "autofuture"]
_SCRIPT = Path(sysconfig.get_path("scripts")) / "autofuture"
CONSOLE = [str(_SCRIPT)] if _SCRIPT.exists() else None
COMMANDS = pytest.mark.parametrize(
    "command", [MODULE, pytest.param(CONSOLE, marks=pytest.mark.skipif(
        CONSOLE is None, reason="the autofuture console script is not installed"))],
    ids=["python-m", "console-script"])


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    return path


def run(argv, cwd: Path, env=None, timeout: float = TIMEOUT) -> e2e.Run:
    result = e2e._run(argv, cwd, env, timeout)
    assert not result.timed_out, f"hung: {result.describe()}\n{result.stderr[-2000:]}"
    return result


def line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


# --------------------------------------------------------------------------- options


@COMMANDS
def test_help_exits_0_with_usage(tmp_path, command):
    result = run([*command, "--help"], tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("usage:")
    for word in ("--executor", "--lookahead", "-n", "check", "show"):
        assert word in result.stdout
    assert result.stderr == ""


@COMMANDS
@pytest.mark.parametrize("bad", [["--bogus", "x.py"], ["-n", "0", "x.py"], ["-n", "many", "x.py"],
                                 ["--lookahead", "0", "x.py"],
                                 ["--task-output", "loud", "x.py"], []])
def test_bad_options_exit_2_with_usage_on_stderr(tmp_path, command, bad):
    write(tmp_path / "x.py", "print('ran')\n")
    result = run([*command, *bad], tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("usage:")
    assert "error:" in result.stderr.splitlines()[-1]
    assert "Traceback" not in result.stderr


def test_missing_script_is_reported_like_python(tmp_path):
    plain = run([sys.executable, "no_such_script.py"], tmp_path)
    result = run([*MODULE, "no_such_script.py"], tmp_path)
    assert result.returncode == plain.returncode == 2
    assert result.stdout == ""
    assert "no_such_script.py" in result.stderr and "No such file or directory" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("module", [
    "no_such_module",
    "json.no_such_module",
    "no_such_pkg.mod",
])
def test_missing_module_is_reported(tmp_path, module):
    result = run([*MODULE, "-m", module], tmp_path)
    assert result.returncode in (1, 2)
    assert result.stdout == ""
    assert module.split(".")[0] in result.stderr.splitlines()[-1]
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- what the script sees

ARGV_SCRIPT = """
    # autofuture
    import os
    import sys

    DRIVER = os.getpid()


    def elsewhere(x):
        return os.getpid() != DRIVER, x * 2


    print("argv", sys.argv)
    print("name", __name__)
    print("path0", sys.path[0])
    print("file", __file__)
    print("task", elsewhere(len(sys.argv)))
"""


@COMMANDS
def test_script_sees_argv_name_and_path_like_python(tmp_path, command):
    script = write(tmp_path / "scripts" / "argv_probe.py", ARGV_SCRIPT)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    args = ["scripts/../scripts/argv_probe.py", "-n", "3", "--flag", "a b"]
    plain = run([sys.executable, *args], tmp_path)
    result = run([*command, "-n", "2", *args], tmp_path)
    assert result.returncode == 0, result.stderr
    plain_lines = plain.stdout.splitlines()
    lines = result.stdout.splitlines()
    assert lines[:3] == plain_lines[:3]
    assert lines[0] == f"argv {args!r}"
    assert lines[1] == "name __main__"
    assert lines[2] == f"path0 {script.parent}"
    assert Path(lines[3].removeprefix("file ")).resolve() == script.resolve()
    # Futurized although it runs from another directory, and the task ran on a worker.
    assert plain_lines[4] == "task (False, 10)" and lines[4] == "task (True, 10)"
    away = run([*command, "-n", "2", str(script)], elsewhere)
    assert f"path0 {script.parent}" in away.stdout.splitlines()


UNCLOSED_SCRIPT = """
    # autofuture
    import sys


    def double(x):
        return 2 * x


    value = double(21)
    out = open(sys.argv[1], "w")
    out.write(f"value {value}\\n")
"""


def test_a_file_left_open_is_flushed_at_exit_like_python(tmp_path):
    # The script's module is not sys.modules["__main__"] when the interpreter exits:
    # its globals, the open file among them, were never cleared, and the file stayed
    # empty (the plain run writes it when __main__ is cleared).
    script = write(tmp_path / "unclosed.py", UNCLOSED_SCRIPT)
    plain = run([sys.executable, str(script), str(tmp_path / "plain.txt")], tmp_path)
    result = run([*MODULE, "-n", "2", str(script), str(tmp_path / "af.txt")], tmp_path)
    assert plain.returncode == result.returncode == 0, result.stderr
    assert (tmp_path / "plain.txt").read_text() == "value 42\n"
    assert (tmp_path / "af.txt").read_text() == "value 42\n"


MODULE_SCRIPT = """
    # autofuture
    import os
    import sys

    DRIVER = os.getpid()


    def elsewhere(x):
        return os.getpid() != DRIVER, x * 2


    print("argv", sys.argv[1:])
    print("argv0", os.path.relpath(sys.argv[0]))
    print("name", __name__)
    print("package", __package__)
    print("path0 is cwd", sys.path[0] == os.getcwd())
    if __name__ == "__main__":
        print("main block", elsewhere(21))
"""


@pytest.mark.parametrize("command", [
    MODULE,
    pytest.param(CONSOLE, marks=[
        pytest.mark.skipif(CONSOLE is None, reason="the console script is not installed")]),
], ids=["python-m", "console-script"])
def test_dash_m_runs_a_package_module_as_main(tmp_path, command):
    write(tmp_path / "mypkg" / "__init__.py", "")
    write(tmp_path / "mypkg" / "inner" / "__init__.py", "")
    write(tmp_path / "mypkg" / "inner" / "tool.py", MODULE_SCRIPT)
    args = ["-m", "mypkg.inner.tool", "x", "-y", "--z=1"]
    plain = run([sys.executable, *args], tmp_path)
    result = run([*command, "-n", "2", *args], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "argv ['x', '-y', '--z=1']",
        f"argv0 {os.path.join('mypkg', 'inner', 'tool.py')}",
        "name __main__",
        "package mypkg.inner",
        "path0 is cwd True",
        "main block (True, 42)",
    ]
    assert plain.stdout.replace("(False, 42)", "(True, 42)") == result.stdout


# --------------------------------------------------------------------------- Ctrl-C

SLEEPING_TASKS = """
    # autofuture
    import os
    import sys
    import time


    def nap(i, where):
        open(os.path.join(where, f"started-{i}"), "w").close()
        time.sleep(20)
        return i


    print("ready", flush=True)
    naps = [nap(i, sys.argv[1]) for i in range(4)]
    print("not reached", naps)
"""

SLEEPING_WORKFLOW = """
    # autofuture
    import sys
    import time


    def bump(x):
        return x + 1


    a = bump(1)
    print("ready", a, flush=True)
    time.sleep(20)
    print("not reached")
"""


def interrupt(tmp_path: Path, source: str, tasks: int, to_group: bool):
    """Start a run, wait for its ready line (and ``tasks`` started tasks), send SIGINT.

    Returns (status or None if it did not exit within 8 s, stdout after the ready line,
    stderr, processes of the run's session still alive 5 s after it exited).
    """
    script = write(tmp_path / "interrupted.py", source)
    started = tmp_path / "started"
    started.mkdir()
    env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONPATH=os.pathsep.join(
        p for p in (str(e2e.REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p))
    proc = subprocess.Popen([*MODULE, "-n", "4", script.name, str(started)], cwd=tmp_path,
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    e2e.STARTED_SESSIONS.append(proc.pid)
    try:
        deadline = time.monotonic() + 30
        ready = proc.stdout.readline()
        assert ready.startswith(b"ready"), (ready, proc.stderr.read())
        while len(list(started.iterdir())) < tasks:
            assert time.monotonic() < deadline, "the tasks did not start"
            time.sleep(0.05)
        time.sleep(0.3)  # let the workflow block
        if to_group:
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        else:
            proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=8)
            status = proc.returncode
        except subprocess.TimeoutExpired:
            status = None
            e2e.kill_session(proc.pid)
            out, err = proc.communicate()
    finally:
        if proc.poll() is None:
            e2e.kill_session(proc.pid)
            proc.communicate()
    leftovers = e2e.session_members(proc.pid)
    deadline = time.monotonic() + 5
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.1)
        leftovers = e2e.session_members(proc.pid)
    return status, out.decode(), err.decode(), leftovers


@pytest.mark.parametrize("to_group", [False, True], ids=["driver", "group"])
def test_sigint_while_the_workflow_sleeps_exits_130(tmp_path, to_group):
    status, out, err, leftovers = interrupt(tmp_path, SLEEPING_WORKFLOW, 0, to_group)
    assert status == 130, err
    assert out == ""
    assert err.splitlines()[-1] == "KeyboardInterrupt"
    assert not e2e.INTERNAL_FRAME.search(err)
    assert not leftovers


@pytest.mark.parametrize("to_group", [False, True], ids=["driver", "group"])
def test_sigint_while_tasks_sleep_exits_130_at_once(tmp_path, to_group):
    status, out, err, leftovers = interrupt(tmp_path, SLEEPING_TASKS, 4, to_group)
    assert status == 130, f"no exit within 8 s of SIGINT (status {status}); stderr: {err}"
    assert "not reached" not in out
    assert err.splitlines()[-1] == "KeyboardInterrupt"
    assert not e2e.INTERNAL_FRAME.search(err)
    assert not leftovers


# --------------------------------------------------------------------------- check


REBIND = """
    # autofuture
    def f(x):
        return x


    x = f(1)
    x = f(2)
    print(x)
"""

CLEAN = """
    # autofuture
    def f(x):
        return x


    x = f(1)
    y = f(x)
    print(y)
"""

AUGMENTED = """
    # autofuture
    total = 0
    for i in range(3):
        print(i)
    total += 1
"""

UNMARKED = """
    x = 1
    x = 2
    x += 1
"""


def check_tree(root: Path) -> dict[str, Path]:
    return {
        "rebind": write(root / "rebind.py", REBIND),
        "clean": write(root / "clean.py", CLEAN),
        "augmented": write(root / "sub" / "augmented.py", AUGMENTED),
        "unmarked": write(root / "sub" / "unmarked.py", UNMARKED),
    }


@COMMANDS
def test_check_reports_rebindings_one_per_line(tmp_path, command):
    files = check_tree(tmp_path / "proj")
    result = run([*command, "check", "proj"], tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout
    rebind, augmented = sorted(lines)
    assert re.match(rf"^proj/rebind\.py:{line_of(files['rebind'], 'x = f(2)')}:1: AF1\d\d ",
                    rebind)
    assert "'x'" in rebind  # and both places:
    assert f"line {line_of(files['rebind'], 'x = f(1)')}" in rebind
    assert re.match(r"^proj/sub/augmented\.py:5:1: AF1\d\d .*'total'", augmented)
    assert "unmarked" not in result.stdout and "clean" not in result.stdout
    assert result.stderr == ""


@COMMANDS
def test_check_is_silent_and_0_on_clean_and_unmarked_files(tmp_path, command):
    files = check_tree(tmp_path)
    result = run([*command, "check", str(files["clean"]), str(files["unmarked"])], tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


MODULE_STATE = """
    # autofuture
    LOG = []


    def record(x):
        LOG.append(x)
        return x


    for i in (1, 2):
        record(i)
    print(LOG)
"""


@COMMANDS
def test_check_reports_a_task_that_changes_module_state(tmp_path, command):
    """The issue's program: the plain run prints [1, 2], the futurized one [] (see
    test_runtime for the run's own warning)."""
    path = write(tmp_path / "log.py", MODULE_STATE)
    result = run([*command, "check", "log.py"], tmp_path)
    assert result.returncode == 1
    line = line_of(path, "LOG.append(x)")
    assert result.stdout == (
        f"log.py:{line}:5: AF304 'record' changes the module-level 'LOG' (LOG.append(...)), "
        "but as a task it runs on a worker, so the change stays in that worker's copy and the "
        "workflow never sees it. Return the value instead and use it where 'record' is called, "
        "or mark 'record' with @autofuture.local to run it in the workflow process.\n")
    assert result.stderr == ""


def test_check_runs_nothing(tmp_path):
    write(tmp_path / "effects.py", """
        # autofuture
        open("touched", "w").close()
        x = 1
        x = 2
    """)
    result = run([*MODULE, "check", "effects.py"], tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("effects.py:4:1: AF1")
    assert not (tmp_path / "touched").exists()


# ----------------------------------------------------------------- show, load errors, debug


@COMMANDS
def test_show_prints_the_rewritten_source(tmp_path, command):
    write(tmp_path / "clean.py", CLEAN)
    result = run([*command, "show", "clean.py"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "__af__.call(f, 1)" in result.stdout
    assert "def f(x):" in result.stdout
    compile(result.stdout, "shown.py", "exec")  # it is Python
    assert result.stderr == ""


def test_show_of_a_file_with_a_rebinding_fails_naming_it(tmp_path):
    script = write(tmp_path / "rebind.py", REBIND)
    result = run([*MODULE, "show", "rebind.py"], tmp_path)
    assert result.returncode == 1
    assert re.search(rf'File ".*rebind\.py", line {line_of(script, "x = f(2)")}\n',
                     result.stderr), result.stderr
    assert not e2e.INTERNAL_FRAME.search(result.stderr)


def test_show_into_a_pipe_closed_early_ends_quietly(tmp_path):
    """``autofuture show big.py | head -1``: exit 141 (SIGPIPE's), no traceback."""
    lines = "".join(f"y{i} = f({i})\n" for i in range(20_000))
    write(tmp_path / "big.py", textwrap.dedent(CLEAN) + lines)
    proc = subprocess.Popen([*MODULE, "show", "big.py"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    e2e.STARTED_SESSIONS.append(proc.pid)
    assert proc.stdout.readline().startswith(b"import autofuture")
    proc.stdout.close()
    try:
        err = proc.stderr.read()
        status = proc.wait(timeout=TIMEOUT)
    finally:
        proc.stderr.close()
        e2e.kill_session(proc.pid)
    assert (status, err.decode()) == (141, "")


@COMMANDS
def test_rebinding_fails_at_load_before_anything_runs(tmp_path, command):
    script = write(tmp_path / "rebind_run.py", """
        # autofuture
        print("started")


        def f(x):
            return x


        x = f(1)
        x = f(2)
        print(x)
    """)
    result = run([*command, "-n", "2", script.name], tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert re.search(rf'File ".*rebind_run\.py", line {line_of(script, "x = f(2)")}\n',
                     result.stderr), result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("autofuture.RebindError: name 'x' is bound again")
    assert not e2e.INTERNAL_FRAME.search(result.stderr)


def test_debug_prints_the_rewritten_source_to_stderr(tmp_path):
    write(tmp_path / "clean.py", CLEAN)
    quiet = run([*MODULE, "-n", "2", "clean.py"], tmp_path)
    assert quiet.returncode == 0 and "__af__" not in quiet.stderr
    loud = run([*MODULE, "-n", "2", "clean.py"], tmp_path, env={"AUTOFUTURE_DEBUG": "1"})
    assert loud.returncode == 0, loud.stderr
    assert loud.stdout == quiet.stdout == "1\n"
    assert "__af__.call(f, 1)" in loud.stderr
    assert "clean.py" in loud.stderr
