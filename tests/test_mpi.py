"""``mpiexec -n N python -m autofuture``: the same output as the plain run, and clean failures.

Every test runs the real ``mpiexec`` (the ``mpich`` wheel's, found next to
``sys.executable`` or on PATH) with a hard deadline, through ``mpirun.MPIRunner``;
the ``mpi`` fixture (conftest.py) fails a test whose run left a process
behind. The fault-injection matrix under MPI is test_faults_mpi.py.

    python -m pytest tests/test_mpi.py -q          (also part of the default run)
    tox -e mpi                                     (selects the ``mpi`` marker)
"""

from __future__ import annotations

import re
import signal
import subprocess
import textwrap
import threading
import time
from pathlib import Path

import e2e
import mpirun
import pytest

from autofuture.executors.mpi import world

pytestmark = pytest.mark.mpi

mpirun.skip_without_mpi()

TIMEOUT = mpirun.TIMEOUT
ABORT_WITHIN = mpirun.ABORT_WITHIN


def _write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def _describe(run: e2e.Run) -> str:
    return f"{run.describe()}\n--- stdout ---\n{run.stdout}\n--- stderr ---\n{run.stderr}"


# ------------------------------------------------------------------ finding the launcher

_LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMI_SIZE", "PMI_RANK",
                       "MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK", "PMIX_RANK", "PALS_RANKID",
                       "SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS")


@pytest.mark.parametrize(("env", "size", "rank"), [
    ({}, 1, 0),                                                    # a plain run
    ({"PMI_SIZE": "4", "PMI_RANK": "2"}, 4, 2),                    # MPICH's hydra, Intel MPI
    ({"OMPI_COMM_WORLD_SIZE": "8", "OMPI_COMM_WORLD_RANK": "0"}, 8, 0),  # Open MPI
    ({"PMI_SIZE": "1", "PMI_RANK": "0"}, 1, 0),                    # mpiexec -n 1
    ({"SLURM_NTASKS": "64", "SLURM_PROCID": "0"}, 1, 0),           # a batch script's own shell
    ({"SLURM_STEP_NUM_TASKS": "16", "SLURM_PROCID": "5"}, 16, 5),  # inside srun
    ({"PMI_SIZE": "garbage"}, 1, 0),
])
def test_the_launcher_is_found_from_its_environment(env, size, rank, monkeypatch):
    for name in _LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert world.world_size_hint() == size
    assert world.world_rank_hint() == rank


# ----------------------------------------------------------- the same output as the plain run

# A representative subset of tests/programs: task output, task errors caught and
# uncaught, failing dependencies, numpy values and multi-megabyte payloads (out
# of band), the workflow's environment and working directory, helper modules on
# the program's path, sys.exit in a task, nested workflows, no tasks at all.
SUBSET = ("task_output", "custom_exception", "failing_dependency", "numpy_arrays",
          "big_payload", "process_state", "imported_helper", "exit_in_task",
          "workflow_recursive", "empty_program", "map_error_middle", "map_print_inside")
# Exceptions crossing the boundary whole (whole traceback text compared): their own
# classes whatever their __init__, chains, groups, notes, hints, unsendable attributes.
ERRORS = ("error_custom_init", "error_chain_deep", "error_group", "error_notes_chain",
          "error_in_handler", "error_unsendable_attribute", "hint_attribute",
          "hint_name_task", "hint_name_top", "hint_import")


@pytest.mark.parametrize("name", SUBSET + ERRORS)
def test_program_matches_plain_python_on_three_ranks(name, mpi, plain_run):
    program = e2e.PROGRAMS_DIR / f"{name}.py"
    header = e2e.read_header(program)
    fut = mpi.run(3, program, header.args, env=header.env)
    e2e.assert_same(plain_run(program), fut)


@pytest.mark.parametrize(("ranks", "name"), [
    (1, "diamond"), (1, "task_output"),            # one rank: the local default, no MPI
    (2, "diamond"), (2, "custom_exception"),       # one worker rank
    (4, "diamond"), (4, "big_payload"),            # three worker ranks
])
def test_program_matches_plain_python_on_any_size(ranks, name, mpi, plain_run):
    program = e2e.PROGRAMS_DIR / f"{name}.py"
    header = e2e.read_header(program)
    fut = mpi.run(ranks, program, header.args, env=header.env)
    e2e.assert_same(plain_run(program), fut)


def test_spec_loop(tmp_path, mpi):
    program = _write(tmp_path, "demo.py", """\
        # autofuture
        import time

        def slow_square(x: int) -> int:
            time.sleep(0.2)
            return x * x

        for i in range(8):
            r = slow_square(i)      # a future, returned at once
            print(i, r)             # printed in order, as results arrive
    """)
    fut = mpi.run(3, program)
    assert fut.returncode == 0, _describe(fut)
    assert fut.stdout == "".join(f"{i} {i * i}\n" for i in range(8))
    assert fut.stderr == ""


def test_task_prints_reach_stdout_in_program_order(tmp_path, mpi):
    # Later tasks finish first; what each prints still appears at its call's turn.
    program = _write(tmp_path, "order.py", """\
        # autofuture
        import sys
        import time

        def talk(i):
            time.sleep(0.05 * (6 - i))
            print(f"task {i} out")
            print(f"task {i} err", file=sys.stderr)
            return i

        print("begin")
        values = [talk(i) for i in range(6)]
        print("values", values)
    """)
    plain = e2e.run_plain(program)
    fut = mpi.run(3, program)
    e2e.assert_same(plain, fut)
    assert fut.stdout.splitlines() == ["begin", *(f"task {i} out" for i in range(6)),
                                       "values [0, 1, 2, 3, 4, 5]"]


def test_tasks_use_comm_world_without_colliding(tmp_path, mpi):
    # A task receives from ANY_SOURCE/ANY_TAG on COMM_WORLD: it must get its own
    # message, never autofuture's traffic, which is on a duplicate communicator.
    program = _write(tmp_path, "world.py", """\
        # autofuture
        import os
        from mpi4py import MPI

        def where(i):
            world = MPI.COMM_WORLD
            request = world.isend(("hello", i), dest=world.Get_rank(), tag=7)
            got = world.recv(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG)
            request.wait()
            return (world.Get_rank(), world.Get_size(), got,
                    os.environ.get("PMI_RANK") == str(world.Get_rank()))

        print("workflow on rank", MPI.COMM_WORLD.Get_rank())
        seen = [where(i) for i in range(8)]
        for rank, size, got, own_env in seen:
            print(rank > 0, size, got[0], own_env)
        print(sorted(got[1] for _, _, got, _ in seen))
    """)
    fut = mpi.run(3, program)
    assert fut.returncode == 0, _describe(fut)
    lines = fut.stdout.splitlines()
    assert lines[0] == "workflow on rank 0"
    assert lines[1:9] == ["True 3 hello True"] * 8
    assert lines[9] == str(list(range(8)))


def test_executor_mpi_with_one_rank_falls_back_to_loky(mpi, plain_run):
    program = e2e.PROGRAMS_DIR / "diamond.py"
    fut = mpi.run(1, program, opts=("--executor", "mpi"))
    assert fut.returncode == 0, _describe(fut)
    assert fut.stdout == plain_run(program).stdout
    assert fut.stderr.count("\n") == 1 and "using loky instead" in fut.stderr, fut.stderr


def test_another_executor_under_mpiexec_runs_the_workflow_once(mpi, plain_run):
    program = e2e.PROGRAMS_DIR / "diamond.py"
    fut = mpi.run(3, program, opts=("--executor", "thread"))
    e2e.assert_same(plain_run(program), fut)


# --------------------------------------------------------------------------- lost ranks

CRASH = """\
    # autofuture
    import ctypes
    import os
    import sys
    import time


    def fine(i):
        time.sleep(0.05)
        return i


    def crash(how):
        print("crash() starts")
        if how == "kill":
            os.kill(os.getpid(), 9)
        elif how == "segfault":
            ctypes.string_at(0)
        elif how == "exit1":
            os._exit(1)
        elif how == "exit0":
            os._exit(0)
        elif how == "c-exit":  # an extension calling exit(0), a Fortran STOP
            ctypes.CDLL(None).exit(0)
        return how


    print("start", flush=True)
    before = [fine(i) for i in range(4)]
    print(before, flush=True)
    boom = crash(sys.argv[1])
    after = [fine(i) for i in range(4)]
    print(boom, after)
"""
CRASH_SITE = "crash() at crash.py:31"


@pytest.mark.parametrize("how", ["kill", "segfault", "exit1", "exit0", "c-exit"])
def test_a_lost_rank_ends_the_run_naming_the_task(how, tmp_path, mpi):
    program = _write(tmp_path, "crash.py", CRASH)
    fut = mpi.run(3, program, [how], timeout=30)
    assert not fut.timed_out, _describe(fut)
    assert fut.returncode not in (0, None), _describe(fut)
    assert CRASH_SITE in fut.stderr, _describe(fut)
    assert "None [0, 1, 2, 3]" not in fut.stdout and "after" not in fut.stdout
    if how != "segfault":
        # Rank 0 raised WorkerLostError at the task's turn, with the task's output and line.
        assert fut.stdout == "start\n[0, 1, 2, 3]\ncrash() starts\n", _describe(fut)
        assert "autofuture.WorkerLostError: MPI rank" in fut.stderr
        assert re.search(r'File ".*crash\.py", line (16|20|22|24), in crash', fut.stderr)
    else:
        # Python's fault handler names the task in the frame that ran it.
        assert "Fatal Python error: Segmentation fault" in fut.stderr


def test_a_caught_lost_rank_still_ends_non_zero(tmp_path, mpi):
    program = _write(tmp_path, "caught.py", """\
        # autofuture
        import os

        import autofuture

        def vanish():
            os._exit(0)

        def square(i):
            return i * i

        try:
            gone = vanish()
            print(gone)
        except autofuture.WorkerLostError as exc:
            print("caught:", type(exc).__name__)
        print([square(i) for i in range(5)])
    """)
    fut = mpi.run(3, program, timeout=30)
    assert fut.stdout == "caught: WorkerLostError\n[0, 1, 4, 9, 16]\n", _describe(fut)
    assert fut.returncode not in (0, None), _describe(fut)
    assert "vanish() at caught.py:13" in fut.stderr, _describe(fut)


def test_tasks_batched_with_a_lost_one_run_elsewhere(tmp_path, mpi):
    # Short tasks travel in batches; the ones after the task that ends its rank
    # run on the other rank, and --keep-going finishes them all.
    program = _write(tmp_path, "batch.py", """\
        # autofuture
        import os

        def work(i):
            print(f"work {i}")
            if i == 37:
                os._exit(0)
            return i * i

        results = [work(i) for i in range(200)]
    """)
    fut = mpi.run(3, program, opts=("--keep-going",), timeout=30)
    assert fut.returncode not in (0, None), _describe(fut)
    assert fut.stdout.splitlines() == [f"work {i}" for i in range(200)], _describe(fut)
    assert "work() at batch.py:10 failed" in fut.stderr, _describe(fut)
    assert "the task called os._exit(0)" in fut.stderr


# ----------------------------------------------------------------- errors and Ctrl-C abort

def test_a_workflow_error_aborts_busy_ranks_promptly(tmp_path, mpi):
    # quick() feeds a local call that fails; meanwhile four one-minute tasks run.
    program = _write(tmp_path, "fails.py", """\
        # autofuture
        import sys
        import time

        import autofuture

        def quick():
            time.sleep(0.3)
            return "not a number"

        def nap(i):
            time.sleep(60)
            return i

        @autofuture.local
        def parse(text):
            print(f"failing at {time.time()!r}", file=sys.stderr, flush=True)
            return int(text)

        t = quick()
        n = parse(t)
        naps = [nap(i) for i in range(4)]
        print(n, sum(naps))
    """)
    fut = mpi.run(3, program, timeout=30)
    ended = time.time()
    assert fut.returncode == 1, _describe(fut)
    assert "ValueError: invalid literal for int()" in fut.stderr
    failed_at = float(re.search(r"failing at ([0-9.]+)", fut.stderr).group(1))
    assert ended - failed_at < ABORT_WITHIN, _describe(fut)


def test_ctrl_c_aborts_busy_ranks_promptly(tmp_path, mpi):
    program = _write(tmp_path, "naps.py", """\
        # autofuture
        import time

        def nap(i):
            time.sleep(60)
            return i

        print("ready", flush=True)
        naps = [nap(i) for i in range(4)]
        print(sum(naps))
    """)
    proc = subprocess.Popen(
        mpi.argv(3, program), cwd=tmp_path, env=e2e._child_env(mpi.env()),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True)
    e2e.STARTED_SESSIONS.append(proc.pid)
    err: list[bytes] = []
    reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
    reader.start()
    try:
        ready = proc.stdout.readline()
        assert ready == b"ready\n", (ready, err)
        time.sleep(1.0)  # the naps are running on the worker ranks
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)  # what a terminal's Ctrl-C does to mpiexec
        status = proc.wait(timeout=20)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            e2e.kill_session(proc.pid)
            proc.wait()
        reader.join(timeout=5)
        proc.stdout.close()
        proc.stderr.close()
    stderr = b"".join(err).decode("utf-8", "replace")
    assert status == 130, stderr
    assert "KeyboardInterrupt" in stderr
    assert took < ABORT_WITHIN, (took, stderr)


def test_one_task_at_a_time_runs_on_the_rank_that_finished_last(tmp_path, mpi):
    """An idle rank is picked last-finished-first (docs/decisions.md, MPI): the rank
    that just answered has warm caches (and, probing, still polls without sleeping).
    Tasks waited for one by one then all run in one process, as in the plain run."""
    program = _write(tmp_path, "one_rank.py", """\
        # autofuture
        import os

        import autofuture

        def where(i: int) -> int:
            return os.getpid()

        first = autofuture.result(where(0))
        same = [autofuture.result(where(i)) == first for i in range(1, 12)]
        print(all(same), len(same))
    """)
    plain = e2e.run_plain(program)
    fut = mpi.run(3, program)
    e2e.assert_same(plain, fut)
    assert fut.stdout == "True 11\n"
