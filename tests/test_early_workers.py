"""``python -m autofuture`` starts its loky workers before it reads the script (issue 16).

The workers boot while the script is read, rewritten and run up to its first
task, and import the installed packages the script imports at its top level
meanwhile; a run that never makes a task ends them with itself.
"""

from __future__ import annotations

import e2e
import pytest

DEADLINE = 120.0

NO_TASK = """\
# autofuture
import psutil

workers = [p for p in psutil.Process().children()
           if "popen_loky" in " ".join(p.cmdline())]
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
    # One of the two early workers never runs a message: the run kills it at its end
    # instead of waiting for it to finish booting only to stop (issue 16). Nothing of
    # it may show: no loky warning, no process left.
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
with open(f"/proc/{tracker._pid}/cmdline", "rb") as f:
    command = f.read().replace(b"\\0", b" ").decode()
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
