"""``python -m autofuture`` starts its loky workers before it reads the script (issue 16).

The first worker boots while the script is read, rewritten and run up to its
first task, and imports the installed packages the script imports at its top
level meanwhile; the others start once a second message could run beside the
first. A run that never makes a task ends them with itself.
"""

from __future__ import annotations

import e2e
import pytest

DEADLINE = 120.0

NO_TASK = f"""\
# autofuture
import psutil

workers = [p for p in psutil.Process().children()
           if any(word in " ".join(p.cmdline()) for word in {e2e.WORKER_COMMANDS!r})]
print("workers started:", len(workers) > 0)
print(sum(range(10)))
"""


def test_a_run_without_tasks_ends_the_workers_it_started_early(tmp_path):
    pytest.importorskip("psutil")
    program = tmp_path / "notask.py"
    program.write_text(NO_TASK)
    run = e2e.run_autofuture(program, "loky", workers=2, timeout=DEADLINE)
    sid = e2e.STARTED_SESSIONS[-1]
    assert run.returncode == 0, run.stderr
    assert run.stdout == "workers started: True\n45\n"
    assert run.stderr == ""
    left = e2e.wait_gone(sid)
    assert not left, f"left behind:\n{e2e.describe_processes(left)}"


PRELOAD = """\
# autofuture
import sys

import numpy
import helper_of_mine

def loaded(name: str) -> bool:
    return name in sys.modules

print(loaded("numpy"), loaded("helper_of_mine"))
"""


def test_workers_import_the_installed_packages_the_script_imports_and_no_others(tmp_path):
    pytest.importorskip("numpy")
    (tmp_path / "helper_of_mine.py").write_text("VALUE = 1\n")
    program = tmp_path / "preload.py"
    program.write_text(PRELOAD)
    plain = e2e.run_plain(program, timeout=DEADLINE)
    assert plain.stdout == "True True\n"
    run = e2e.run_autofuture(program, "loky", workers=2, timeout=DEADLINE)
    assert run.returncode == 0, run.stderr
    # numpy is installed: imported by the worker before the task came; the user's own
    # module never is (functions of the script travel by value).
    assert run.stdout == "True False\n"


ONE_TASK = """\
# autofuture
def f(x: int) -> int:
    return x + 1


print(f(1))
"""


def test_a_one_task_run_ends_the_worker_it_never_used_and_leaves_nothing(tmp_path):
    # The worker that ran the task ends cleanly; one that never ran a message (since
    # only one worker boots for a one-task run, one started for a message another
    # worker took) is killed, not waited for (issue 16). Nothing of the run may show:
    # no loky warning, no process left.
    program = tmp_path / "onetask.py"
    program.write_text(ONE_TASK)
    plain = e2e.run_plain(program, timeout=DEADLINE)
    for _ in range(3):
        run = e2e.run_autofuture(program, "loky", workers=2, timeout=DEADLINE)
        sid = e2e.STARTED_SESSIONS[-1]
        e2e.assert_same(plain, run)
        assert run.stderr == ""
        left = e2e.wait_gone(sid)
        assert not left, f"left behind:\n{e2e.describe_processes(left)}"


TRACKER = """\
import os, sys, tempfile
from loky.backend import resource_tracker
from autofuture.executors import spawning

spawning.start_resource_trackers_quietly()
tracker = resource_tracker._resource_tracker
folder = tempfile.mkdtemp(prefix="af-tracked-")
resource_tracker.register(folder, "folder")
import time
deadline = time.monotonic() + 30
while True:  # a fork not yet exec'd shows this script's command line, one exec'ing none
    with open(f"/proc/{tracker._pid}/cmdline", "rb") as f:
        command = f.read().replace(b"\\0", b" ").decode()
    if (command and "tracker.py" not in command) or time.monotonic() > deadline:
        break
    time.sleep(0.01)
print(tracker._pid, folder, "autofuture.executors.tracker" in command, flush=True)
os._exit(0)  # a run that died: the tracker cleans up after it
"""


def test_the_light_resource_tracker_cleans_up_after_a_run_that_died(tmp_path):
    # loky's tracker starts through executors.tracker (without importing all of loky);
    # it must still do its job: remove what a run that died registered.
    import os
    import select
    import subprocess
    import sys

    script = tmp_path / "tracker.py"
    script.write_text(TRACKER)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=DEADLINE, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    pid, folder, light = proc.stdout.split()
    assert light == "True"
    # The tracker (not our child) cleans up, then exits: wait for its exit.
    try:
        handle = os.pidfd_open(int(pid))
    except ProcessLookupError:
        handle = None  # already done
    if handle is not None:
        try:
            assert select.select([handle], [], [], 60)[0], "the tracker did not end"
        finally:
            os.close(handle)
    assert not os.path.exists(folder), "the tracker did not remove the dead run's folder"


def test_importing_autofuture_imports_no_runtime_until_a_name_is_used():
    # Every process of a run imports the package (workers, the tracker): it must not
    # bring the API's runtime along; the names are there on first use.
    import subprocess
    import sys

    code = ("import sys, autofuture\n"
            "before = sorted(m for m in sys.modules if m.startswith('autofuture.'))\n"
            "from autofuture import *\n"
            "print(before, task.__module__, Future.__name__, WorkerLostError.__module__, "
            "callable(autofuture.install), 'task' in dir(autofuture))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=DEADLINE, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "['autofuture._version'] autofuture._api Future autofuture True True\n"


SIDE_BY_SIDE = """\
# autofuture
import os
import sys
import time

def wait_for(path: str) -> int:
    deadline = time.monotonic() + 60
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            return -1
        time.sleep(0.01)
    return os.getpid()

def make(path: str) -> int:
    open(path, "w").close()
    return os.getpid()


first = wait_for(sys.argv[1])
second = make(sys.argv[1])
print(first != -1, first != second)
"""


def test_a_second_message_starts_the_second_worker_while_the_first_runs(tmp_path):
    # The first task waits for what the second does: a second worker started only
    # once the first message was done would leave it waiting to its deadline.
    program = tmp_path / "side_by_side.py"
    program.write_text(SIDE_BY_SIDE)
    run = e2e.run_autofuture(program, "loky", workers=2, timeout=DEADLINE,
                             args=[str(tmp_path / "flag")])
    sid = e2e.STARTED_SESSIONS[-1]
    assert run.returncode == 0, run.stderr
    assert run.stdout == "True True\n"
    left = e2e.wait_gone(sid)
    assert not left, f"left behind:\n{e2e.describe_processes(left)}"


TRACKERS = f"""\
# autofuture
import psutil

def f(x: int) -> int:
    return x + 1


print(f(1))
commands = " ".join(" ".join(p.cmdline()) for p in psutil.Process().children())
workers = sum(commands.count(word) for word in {e2e.WORKER_COMMANDS!r})
print(workers, "autofuture.executors.tracker" in commands,
      "multiprocessing.resource_tracker" in commands)
"""


def test_a_one_task_run_starts_one_worker_and_no_standard_library_tracker(tmp_path):
    # Of -n 2, only the first worker boots at launch; the second would start with a
    # second message (issue 16). loky needs its own tracker; multiprocessing's is there
    # for shared_memory in tasks, and starts once something is registered with it
    # (executors.lazytracker).
    pytest.importorskip("psutil")
    program = tmp_path / "trackers.py"
    program.write_text(TRACKERS)
    run = e2e.run_autofuture(program, "loky", workers=2, timeout=DEADLINE)
    sid = e2e.STARTED_SESSIONS[-1]
    assert run.returncode == 0, run.stderr
    assert run.stdout == "2\n1 True False\n"
    left = e2e.wait_gone(sid)
    assert not left, f"left behind:\n{e2e.describe_processes(left)}"


SEGMENT_THEN_DEATH = """\
# autofuture
import os
import sys
from multiprocessing import shared_memory

def make_then_die(where: str) -> int:
    segment = shared_memory.SharedMemory(create=True, size=4096)
    with open(where, "w") as f:
        f.write(segment.name)
    os.kill(os.getpid(), 9)  # dies holding it: never closed, never unlinked
    return 0


print(make_then_die(sys.argv[1]))
"""


@pytest.mark.parametrize("many", [False, True], ids=["first", "after_probes"])
def test_a_segment_of_a_killed_worker_is_removed_when_the_run_is_over(tmp_path, many):
    # The standard library's tracker starts at the segment's registration, from a
    # worker, and removes it once the run is over, as when it ran from the start.
    import os

    where = tmp_path / "segment-name"
    program = tmp_path / "segment.py"
    source = SEGMENT_THEN_DEATH
    if many:  # workers spawned before it (each writes a PROBE) and tasks that ran first
        source = source.replace("print(make_then_die", "def g(i: int) -> int:\n"
                                "    return i + 1\n\n\nprint([g(i) for i in range(4)])\n"
                                "print(make_then_die")
    program.write_text(source)
    run = e2e.run_autofuture(program, "loky", workers=2, timeout=DEADLINE, args=[str(where)])
    sid = e2e.STARTED_SESSIONS[-1]
    assert run.returncode == 1, run.stderr
    assert "WorkerLostError" in run.stderr or "died" in run.stderr, run.stderr
    name = where.read_text()
    left = e2e.wait_gone(sid, grace=30.0)  # the tracker ends once it has cleaned up
    assert not left, f"left behind:\n{e2e.describe_processes(left)}"
    assert not os.path.exists(f"/dev/shm/{name.lstrip('/')}"), "the segment was left"
