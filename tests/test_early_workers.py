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
