"""The first worker's interpreter starts as the command line is read (executors.prespawn).

loky then takes it as the first worker it spawns: same descriptors, same
environment, the workflow's own child. These tests run real workflows and a
real loky pool, and kill the workflow from outside at moments of its start-up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import e2e
import pytest

from autofuture.executors import prespawn

DEADLINE = 120.0

WHO_RAN_IT = """\
# autofuture
import os

def who() -> tuple:
    command = open("/proc/self/cmdline", "rb").read()
    return (b"autofuture.executors.prespawn" in command, os.getppid(),
            os.environ.get("MARKED_BY_TEST"), sorted(int(fd) for fd in os.listdir("/proc/self/fd")))

prespawned, parent, marked, fds = who()
print(prespawned, parent == os.getpid(), marked)
print(int(os.environ["LEFT_OPEN"]) in fds)
"""


def test_the_first_worker_is_the_interpreter_started_early_and_inherits_nothing_else(tmp_path):
    # A descriptor the workflow's own parent left open (a pipe of a test harness, say)
    # is not the worker's, as with loky's own spawning; the environment is the
    # workflow's, set after the interpreter started.
    program = tmp_path / "who.py"
    program.write_text(WHO_RAN_IT)
    read_end, write_end = os.pipe()
    try:
        env = e2e._child_env({"LEFT_OPEN": str(write_end), "MARKED_BY_TEST": "yes"})
        run = subprocess.run(
            [sys.executable, "-m", "autofuture", "-n", "2", program.name], cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=DEADLINE, pass_fds=(write_end,),
            start_new_session=True)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "True True yes\nFalse\n"
    assert run.stderr == ""


CHILDREN = """\
# autofuture
import psutil

def f(x: int) -> int:
    return x + 1

commands = [" ".join(p.cmdline()) for p in psutil.Process().children()]
print(sum("autofuture.executors.prespawn" in command for command in commands))
print(f(1))
"""


@pytest.mark.parametrize("executor", ["serial", "thread"])
def test_no_interpreter_is_started_early_for_another_executor(tmp_path, executor):
    pytest.importorskip("psutil")
    program = tmp_path / "children.py"
    program.write_text(CHILDREN)
    run = e2e.run_autofuture(program, executor, workers=2, timeout=DEADLINE)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "0\n2\n"


def test_no_interpreter_is_started_early_when_the_environment_names_another_executor(tmp_path):
    pytest.importorskip("psutil")
    program = tmp_path / "children.py"
    program.write_text(CHILDREN)
    run = subprocess.run(
        [sys.executable, "-m", "autofuture", "-n", "2", program.name], cwd=tmp_path,
        env=e2e._child_env({"AUTOFUTURE_EXECUTOR": "thread"}), capture_output=True, text=True,
        timeout=DEADLINE)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "0\n2\n"


@pytest.mark.parametrize("argv", [["--retries", "many", "x.py"], ["--help"], ["-n", "2"]],
                         ids=["bad-option", "help", "no-script"])
def test_a_command_line_that_runs_nothing_leaves_no_early_interpreter(tmp_path, argv):
    # The interpreter starts before argparse reads the command line (cli.main): when
    # the command line then runs no script, it is ended before the workflow exits.
    proc = subprocess.Popen([sys.executable, "-m", "autofuture", *argv], cwd=tmp_path,
                            env=e2e._child_env(None), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=DEADLINE)
        left = e2e.session_members(proc.pid)
        assert not left, f"left behind:\n{e2e.describe_processes(left)}"
        assert proc.returncode == (0 if argv == ["--help"] else 2), err
        assert ("usage:" in out) if argv == ["--help"] else ("error:" in err)
    finally:
        e2e.kill_session(proc.pid)


SLOW_TASK = """\
# autofuture
import time

def f(x: int) -> int:
    time.sleep(30)
    return x + 1

print(f(1))
"""


@pytest.mark.parametrize("after_ms", [0, 15, 30, 50, 80, 120, 200])
def test_a_workflow_killed_during_its_start_up_leaves_no_process(tmp_path, after_ms):
    # From outside, at moments before, during and after the early interpreter is
    # handed to loky: it (and the tracker, and the worker) end with the workflow.
    program = tmp_path / "slow.py"
    program.write_text(SLOW_TASK)
    proc = subprocess.Popen(
        [sys.executable, "-m", "autofuture", "-n", "2", program.name], cwd=tmp_path,
        env=e2e._child_env(None), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        time.sleep(after_ms / 1000)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=DEADLINE)
        left = e2e.wait_gone(proc.pid, grace=20.0)
        assert not left, f"left behind:\n{e2e.describe_processes(left)}"
    finally:
        e2e.kill_session(proc.pid)
        proc.wait(timeout=DEADLINE)


WAITER = """\
import time
from autofuture.executors import prespawn
prespawn.start()
print(prespawn._waiting[0], flush=True)
time.sleep(60)
"""


def test_an_interpreter_never_handed_over_ends_with_its_workflow(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", WAITER], env=e2e._child_env(None),
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        waiting = int(proc.stdout.readline())
        assert _alive(waiting)
        proc.kill()
        proc.wait(timeout=DEADLINE)
        deadline = time.monotonic() + 20
        while _alive(waiting) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _alive(waiting), "the waiting interpreter outlived its workflow"
    finally:
        e2e.kill_session(proc.pid)
        proc.wait(timeout=DEADLINE)
        proc.stdout.close()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _loky_worker_pid() -> int:
    from loky import ProcessPoolExecutor

    with prespawn.adopting():
        pool = ProcessPoolExecutor(max_workers=1)
        try:
            return pool.submit(os.getpid).result(timeout=DEADLINE)
        finally:
            pool.shutdown(wait=True)


def test_loky_takes_the_waiting_interpreter_as_its_worker(monkeypatch):
    monkeypatch.setattr(prespawn, "_waiting", None)
    prespawn.start()
    waiting = prespawn._waiting[0]
    assert _loky_worker_pid() == waiting
    assert prespawn._waiting is None
    # The next pool spawns its own: only the first worker is taken.
    assert _loky_worker_pid() != waiting


def test_loky_spawns_its_worker_itself_when_the_waiting_interpreter_is_gone(monkeypatch):
    monkeypatch.setattr(prespawn, "_waiting", None)
    prespawn.start()
    waiting = prespawn._waiting[0]
    os.kill(waiting, signal.SIGKILL)
    os.waitpid(waiting, 0)  # dead for sure: its end of the socket is closed
    worker = _loky_worker_pid()
    assert worker != waiting
    assert prespawn._waiting is None


def test_discard_ends_the_waiting_interpreter(monkeypatch):
    monkeypatch.setattr(prespawn, "_waiting", None)
    prespawn.start()
    waiting = prespawn._waiting[0]
    prespawn.discard()
    assert prespawn._waiting is None
    assert not _alive(waiting)


PSUTIL_AT_FIRST_KILL = """\
import subprocess, sys, threading
from autofuture.executors import spawning

spawning.import_loky()
from loky.backend import utils

print("psutil" in sys.modules, utils.psutil is None)
TREE = (
    "import subprocess, sys, time\\n"
    "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\\n"
    "print(g.pid, flush=True)\\n"
    "time.sleep(60)")

def tree():
    child = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True)
    grandchild = int(child.stdout.readline())
    class Worker:  # what loky's kill needs of a worker process
        pid, join = child.pid, child.wait
    return child, grandchild, Worker

def gone(pid):
    for _ in range(600):
        try:
            state = open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        threading.Event().wait(0.05)
    return False

if sys.argv[1] == "absent":  # as when it is not installed, or the interpreter is ending
    sys.modules["psutil"] = None
# loky's threads may kill workers at the same moment: each kill imports, or waits for it.
trees = [tree() for _ in range(4)]
barrier = threading.Barrier(len(trees))
def kill(worker):
    barrier.wait()
    utils.kill_process_tree(worker)
threads = [threading.Thread(target=kill, args=(worker,)) for _, _, worker in trees]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(all(child.wait(timeout=30) == -9 and gone(grandchild) for child, grandchild, _ in trees))
print(utils.psutil is sys.modules["psutil"] is not None)
"""


@pytest.mark.parametrize("psutil_state", ["present", "absent"])
def test_loky_is_imported_without_psutil_which_its_first_kill_imports(tmp_path, psutil_state):
    # spawning.import_loky: ~15 ms of every start (issue 16), in the workflow and the
    # first worker. loky's kill of a worker's process tree imports it; without it
    # (not installed, or at the interpreter's end) it kills as loky does without it.
    pytest.importorskip("psutil")
    run = subprocess.run([sys.executable, "-c", PSUTIL_AT_FIRST_KILL, psutil_state],
                         cwd=tmp_path, env=e2e._child_env(None), capture_output=True,
                         text=True, timeout=DEADLINE)
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"False True\nTrue\n{psutil_state == 'present'}\n"
    assert run.stderr == ""


PSUTIL_IN_A_TASK = """\
# autofuture
import os

def mine() -> tuple:
    import psutil

    command = open("/proc/self/cmdline", "rb").read()
    return b"autofuture.executors.prespawn" in command, psutil.Process().pid == os.getpid()

print(mine())
"""


def test_a_task_imports_psutil_in_the_first_worker_as_usual(tmp_path):
    pytest.importorskip("psutil")
    program = tmp_path / "mine.py"
    program.write_text(PSUTIL_IN_A_TASK)
    run = e2e.run_autofuture(program, "loky", workers=2, timeout=DEADLINE)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "(True, True)\n"
