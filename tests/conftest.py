"""Fixtures for the end-to-end suites, and the check that no run leaves a process behind."""

from __future__ import annotations

import functools
import os
import signal
import time
from pathlib import Path

import e2e
import mpirun
import pytest

# How long a finished run's workers and helpers may take to exit on their own.
STRAGGLER_GRACE = 5.0


def _children(pid: int) -> set[int]:
    """Live direct children of ``pid`` (all its threads'), from /proc."""
    children: set[int] = set()
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return children
    for tid in tids:
        try:
            text = Path(f"/proc/{pid}/task/{tid}/children").read_text()
        except OSError:
            continue
        children.update(int(c) for c in text.split())
    return {c for c in children if _state(c) not in (None, "Z")}


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return None


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip() or "?"


@pytest.fixture
def scheduler_with():
    """Configure this process's scheduler for one test (``scheduler_with(executor=...)``,
    the options of ``scheduler.Options``); shut down and forgotten afterwards."""
    from autofuture.runtime import scheduler as _scheduler

    assert _scheduler.current_or_none() is None, "a scheduler leaked from an earlier test"
    try:
        yield lambda **options: _scheduler.configure(_scheduler.Options(**options))
    finally:
        scheduler = _scheduler.current_or_none()
        if scheduler is not None:
            scheduler.shutdown(cancel=True)
        _scheduler.reset()
        _scheduler.configure(_scheduler.Options())


@pytest.fixture(autouse=True)
def no_leftover_processes():
    """Fail an end-to-end test whose subprocess runs leave a process behind.

    Two places are searched once the test is over, for up to STRAGGLER_GRACE
    seconds: children of this pytest process that were not there before the
    test, and members of the sessions of the runs the test made (each run is
    a session of its own, so workers orphaned by an exiting runtime are
    still found). Leftovers are killed, so that one leak fails one test.
    """
    children_before = _children(os.getpid())
    first_session = len(e2e.STARTED_SESSIONS)
    yield
    sessions = e2e.STARTED_SESSIONS[first_session:]
    if not sessions:
        return  # not an end-to-end test: in-process executors are the unit tests' business
    deadline = time.monotonic() + STRAGGLER_GRACE
    while True:
        leftovers = (_children(os.getpid()) - children_before) | {
            pid for sid in sessions for pid in e2e.session_members(sid)
        }
        if not leftovers or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if leftovers:
        described = "\n".join(f"    pid {pid}: {_cmdline(pid)}" for pid in sorted(leftovers))
        for sid in sessions:
            e2e.kill_session(sid)
        pytest.fail(
            f"{len(leftovers)} process(es) still running {STRAGGLER_GRACE:.0f}s after the "
            f"test's runs ended (now killed):\n{described}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def plain_run():
    """``plain_run(program)``: the program's plain-python run, made once per session."""

    @functools.cache
    def run(program: Path):
        header = e2e.read_header(program)
        return e2e.run_plain(program, header.args, header.env, timeout=header.timeout)

    return run


@pytest.fixture
def mpi():
    """An ``mpirun.MPIRunner``; fails the test if a process of its runs outlives it.

    Processes still alive ``mpirun.STRAGGLER_GRACE`` seconds after the test are
    killed, so that one leak fails one test.
    """
    runner = mpirun.MPIRunner()
    yield runner
    left = runner.leftovers()
    if left:
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        described = "\n".join(f"    pid {pid}: {cmd}" for pid, cmd in sorted(left.items()))
        pytest.fail(f"{len(left)} process(es) of the MPI run still alive "
                    f"{mpirun.STRAGGLER_GRACE:.0f}s after it ended (now killed):\n{described}",
                    pytrace=False)
