"""Doorbells under ``mpiexec`` (executors/mpi/doorbell.py): ranks on one node sleep on a
pipe that senders ring, and fall back to probing when any rank cannot be rung.

Runs the real ``mpiexec`` with a hard deadline (``mpirun.MPIRunner``); a rank
on another node is stood in for by one rank started with
``AUTOFUTURE_MPI_DOORBELL=0`` (MPMD ``mpiexec ... : ...``), which takes the
same path: the others cannot ring it, so no rank uses doorbells.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import e2e
import mpirun
import pytest

from autofuture.executors.mpi import doorbell

pytestmark = pytest.mark.mpi

mpirun.skip_without_mpi()

# Prints, on rank 0 and from tasks spread over both worker ranks, whether the
# process waits on a doorbell; the same tasks' results, as in a plain run.
_REPORT = """\
    # autofuture
    import os
    import time

    import autofuture

    def where(i: int):
        from autofuture.executors.mpi import doorbell
        time.sleep(0.3)
        return os.getpid(), doorbell.used(), i * i

    seen = [where(i) for i in range(4)]
    ranks = {pid for pid, _, _ in seen}
    print("squares", [square for _, _, square in seen])
    print("worker_ranks", len(ranks))
    print("workers_ring", sorted({used for _, used, _ in seen}))
    from autofuture.executors.mpi import doorbell  # the workflow itself runs on rank 0
    print("rank0_rings", doorbell.used())
"""


def _report(tmp_path: Path) -> Path:
    path = tmp_path / "report.py"
    path.write_text(textwrap.dedent(_REPORT), encoding="utf-8")
    return path


def _lines(run: e2e.Run) -> dict[str, str]:
    assert run.returncode == 0, f"{run.describe()}\n{run.stdout}\n{run.stderr}"
    return dict(line.split(" ", 1) if " " in line else (line, "")
                for line in run.stdout.splitlines())


def test_ranks_on_one_node_wait_on_doorbells(tmp_path, mpi):
    fut = mpi.run(3, _report(tmp_path))
    lines = _lines(fut)
    assert lines["squares"] == "[0, 1, 4, 9]"
    assert lines["worker_ranks"] == "2"  # both worker ranks answered
    assert lines["workers_ring"] == "[True]"
    assert lines["rank0_rings"] == "True"


def test_doorbells_off_everywhere_probe_as_before(tmp_path, mpi):
    fut = mpi.run(3, _report(tmp_path), env={"AUTOFUTURE_MPI_DOORBELL": "0"})
    lines = _lines(fut)
    assert lines["squares"] == "[0, 1, 4, 9]"
    assert lines["workers_ring"] == "[False]"
    assert lines["rank0_rings"] == "False"


def test_one_rank_that_cannot_be_rung_turns_doorbells_off_for_all(tmp_path, mpi):
    """As if rank 2 ran on another node: ranks 0 and 1 may ring each other, but
    nobody can ring rank 2, so every rank probes (and the run is the same)."""
    program = _report(tmp_path)
    python = [sys.executable, "-m", "autofuture", program.name]
    argv = [mpirun.MPIEXEC, "-n", "2", *python, ":",
            "-n", "1", "-env", "AUTOFUTURE_MPI_DOORBELL", "0", *python]
    fut = e2e._run(argv, program.parent, mpi.env(), mpirun.TIMEOUT)
    lines = _lines(fut)
    assert lines["squares"] == "[0, 1, 4, 9]"
    assert lines["worker_ranks"] == "2"
    assert lines["workers_ring"] == "[False]"
    assert lines["rank0_rings"] == "False"


@pytest.mark.parametrize("name", ["diamond", "big_payload", "exit_in_task",
                                  "failing_dependency"])
def test_programs_without_doorbells_match_plain_python(name, mpi, plain_run):
    program = e2e.PROGRAMS_DIR / f"{name}.py"
    header = e2e.read_header(program)
    fut = mpi.run(3, program, header.args,
                  env={**(header.env or {}), "AUTOFUTURE_MPI_DOORBELL": "0"})
    e2e.assert_same(plain_run(program), fut)


def test_only_that_pipe_on_this_node_is_opened():
    """A card names (pid, fd, inode): another process's fd of that number, or this
    process's fd pointing elsewhere (a rank on another node whose pid exists here),
    is never opened, let alone written to."""
    read, write = os.pipe()
    other_read, other_write = os.pipe()
    try:
        inode = os.fstat(write).st_ino
        assert doorbell._open(os.getpid(), write, os.fstat(other_write).st_ino) is None
        assert doorbell._open(os.getpid(), 0, inode) is None  # stdin is no such pipe
        assert doorbell._open(2 ** 22 + 7, write, inode) is None  # no such process
        fd = doorbell._open(os.getpid(), write, inode)
        assert fd is not None
        try:
            os.write(fd, b"\0")
            assert os.read(read, 8) == b"\0"
        finally:
            os.close(fd)
    finally:
        for fd in (read, write, other_read, other_write):
            os.close(fd)
