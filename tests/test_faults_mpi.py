"""Fault injection under ``mpiexec -n 3``: issue 6's matrix (test_faults.py) on MPI ranks.

Every case runs a script of test_faults.py (or one of its kind) as
``mpiexec -n 3 python -m autofuture script.py``: rank 0 runs the workflow,
ranks 1 and 2 the tasks. Each has a hard deadline, and asserts the exit
status, stdout (the output before the failure, nothing after), stderr's final
error line (the exception class, the task and its call-site line
``name() at script.py:N``, the cause), a single traceback with no frame of
autofuture's own, and -- through the ``mpi`` fixture -- that no process of the
run (mpiexec, its proxy, any rank) is left behind.

Runs get ``PYTHONUNBUFFERED`` unset, as under tox and in CI, so that output
which only a flush would have saved is seen to be lost.

What MPI changes, and what these tests pin (docs/mpi.md has the user's view):

- A task that ends its own rank (os._exit, os.abort, a signal to itself, and
  the same while its argument is unpickled or its result pickled) is named by
  the dying rank itself; the traceback adds the line that ended it.
- A rank that dies without a word (a segfault, a SIGKILL from outside) makes
  MPICH's launcher kill every rank at once, rank 0 included: the user sees the
  fault handler's dump, naming the task (segfault), or only the launcher's
  report (kill -9), and the launcher's exit status.
- A lost rank cannot be replaced: retries run its task on another rank; when
  that succeeds the run's status is the program's, and stderr says which rank
  was lost; with no rank left, the task fails.
- Ctrl-C, a second Ctrl-C, SIGTERM, SIGKILL of rank 0 (also with a launcher
  that leaves the other ranks running), of mpiexec or of its proxy end every
  rank within 3 s.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import e2e
import mpirun
import pytest
from test_faults import (
    CRASH,
    DIAMOND,
    FLAKY,
    LOST,
    RETRY_LOST,
    TRACEBACK,
    UNPICKLABLE,
    Live,
    attempts,
    line_of,
    one_traceback,
    write,
)

pytestmark = pytest.mark.mpi

mpirun.skip_without_mpi()

RANKS = 3
#: Hard limit on one run: only a hang gets near it.
DEADLINE = 40.0
#: Issue 6: under mpiexec, Ctrl-C, SIGTERM and a dead rank 0 end every rank within 3 s.
END_WITHIN = mpirun.ABORT_WITHIN
#: As under tox and CI: rank 0's stdout is block-buffered when it is a pipe.
BUFFERED = {"PYTHONUNBUFFERED": ""}

#: What MPICH's launcher prints on stdout when a rank dies of a signal.
BANNER = "BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES"


def run(mpi, script: Path, *args, opts=()) -> e2e.Run:
    """``mpiexec -n 3 python -m autofuture [opts] script args``, under the deadline."""
    result = mpi.run(RANKS, script, [str(a) for a in args], opts, env=BUFFERED,
                     timeout=DEADLINE)
    assert not result.timed_out, f"hung: {result.describe()}\n{result.stderr[-3000:]}"
    assert not result.pipes_held, result.describe()
    return result


def split_banner(stdout: str) -> tuple[str, str]:
    """(the program's output, MPICH's report of a rank that died of a signal).

    The report starts with a blank line and a line of '=' signs.
    """
    index = stdout.find("\n\n" + "=" * 40)
    if index == -1:
        return stdout, ""
    return stdout[:index + 1], stdout[index + 2:]


def launcher_free(stdout: str) -> str:
    """stdout without the lines mpiexec itself writes there (``[mpiexec@host] ...``)."""
    return "".join(line for line in stdout.splitlines(keepends=True)
                   if not line.startswith("[mpiexec@"))


LOST_RANK = (r"autofuture\.WorkerLostError: MPI rank [12] \([^)]+\) was lost while running "
             r"task {task}\(\) at {site}: {how}\. A lost MPI rank cannot be replaced: the run "
             r"ends with a non-zero status\.")


# --------------------------------------------------------------------------- lost ranks

# case of test_faults.LOST: (what the dying rank says, the task's own frame that ended it)
NAMED = {
    "sigkill": ("the task sent its own process signal SIGKILL", "os.kill(os.getpid(), 9)"),
    "exit1": (r"the task called os\._exit\(1\)", "os._exit(1)"),
    "exit0": (r"the task called os\._exit\(0\)", "os._exit(0)"),
    "abort": (r"the task called os\.abort\(\)", "os.abort()"),
    "unpickling-argument": (r"unpickling the task's arguments called os\._exit\(3\)", None),
    "pickling-result": (r"pickling the task's result called os\._exit\(3\)",
                        "os._exit(3)  # pickling calls it"),
}


@pytest.mark.parametrize("case", NAMED)
def test_a_task_ending_its_rank_fails_naming_it(tmp_path, mpi, case):
    crash, arg, _, _ = LOST[case]
    how, raised = NAMED[case]
    name = f"crash_{case.replace('-', '_')}.py"
    script = write(tmp_path, name, CRASH.format(crash=crash, arg=arg))
    line = line_of(script, f"v = victim({arg})")
    result = run(mpi, script)
    assert result.returncode == 1, result.stderr  # never success, even for os._exit(0)
    assert result.stdout == "a 1\n", result.stderr  # before the failure, nothing after
    traceback = one_traceback(result.stderr)
    frames = [(name, line)] + ([(name, line_of(script, raised))] if raised else [])
    assert e2e.traceback_frames(traceback) == frames, traceback
    last = e2e.final_error_line(result.stderr)
    assert re.fullmatch(LOST_RANK.format(task="victim", site=re.escape(f"{name}:{line}"),
                                         how=how), last), last


def test_a_segfault_on_a_rank_is_named_by_its_fault_handler(tmp_path, mpi):
    """The launcher kills every rank before rank 0 can speak: the dying rank's fault
    handler names the task and its call site, and the launcher's status is the signal's."""
    crash, arg, _, _ = LOST["segfault"]
    script = write(tmp_path, "crash_segfault.py", CRASH.format(crash=crash, arg=arg))
    line = line_of(script, "v = victim(2)")
    result = run(mpi, script)
    assert result.returncode == signal.SIGSEGV, result.stderr  # MPICH: the signal's number
    ours, banner = split_banner(result.stdout)
    assert ours == "a 1\n", result.stdout
    assert BANNER in banner and "Segmentation fault (signal 11)" in banner, banner
    assert result.stderr.startswith("Fatal Python error: Segmentation fault\n"), result.stderr
    assert TRACEBACK not in result.stderr
    assert re.search(rf'^  File "<autofuture: MPI rank [12] was running>", line 2 in victim\(\) '
                     rf"at crash_segfault\.py:{line}$", result.stderr, re.MULTILINE), result.stderr
    crashed = line_of(script, "ctypes.string_at(0)")
    assert re.search(rf'^  File ".*crash_segfault\.py", line {crashed} in victim$',
                     result.stderr, re.MULTILINE), result.stderr


EXTERNAL = """
    # autofuture
    import os
    import sys
    import time

    MARK = sys.argv[1]


    def fine(i):
        return i


    def victim(x):
        with open(os.path.join(MARK, "pid.tmp"), "w") as file:
            file.write(str(os.getpid()))
        os.replace(os.path.join(MARK, "pid.tmp"), os.path.join(MARK, "pid"))
        time.sleep(30)
        return x


    a = fine(1)
    print("a", a)
    v = victim(2)
    b = fine(3)
    print("v", v)
    print("b", b)
"""


def test_a_rank_killed_from_outside_ends_the_job_through_the_launcher(tmp_path, mpi):
    """kill -9 of a rank (the OOM killer, an operator): MPICH's launcher kills every rank at
    once, rank 0 included, so nothing can name the task: the user sees the output from
    before, the launcher's report and its status (the signal's number), nothing else."""
    script = write(tmp_path, "external.py", EXTERNAL)
    mark = tmp_path / "mark"
    mark.mkdir()
    found: list[tuple[int, bytes]] = []

    def kill_the_task() -> None:
        pid_file = mark / "pid"
        deadline = time.monotonic() + DEADLINE
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        if pid_file.exists():
            pid = int(pid_file.read_text())
            rank = [v for v in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                    if v.startswith(b"PMI_RANK=")]
            found.append((pid, b"".join(rank)))
            time.sleep(0.3)  # the workflow is waiting for it
            os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_the_task, daemon=True)
    killer.start()
    result = run(mpi, script, mark)
    killer.join(timeout=5)
    assert found, f"the task never ran: {result.stderr}"
    assert found[0][1] in (b"PMI_RANK=1", b"PMI_RANK=2"), found  # a worker rank
    assert result.returncode == signal.SIGKILL, result.stderr
    ours, banner = split_banner(result.stdout)
    assert ours == "a 1\n", result.stdout  # flushed before rank 0 waited, though buffered
    assert BANNER in banner and "Killed (signal 9)" in banner, banner
    assert result.stderr == ""  # rank 0 was killed before it could say anything


# --------------------------------------------------------------------------- cannot travel


@pytest.mark.parametrize("case", UNPICKLABLE)
def test_what_cannot_travel_fails_at_its_call_once(tmp_path, mpi, case):
    """Named at the call site; never retried (``--retries 2`` is given); no rank is lost."""
    source, call, final, ran = UNPICKLABLE[case]
    name = f"unpicklable_{case.replace('-', '_')}.py"
    script = write(tmp_path, name, source)
    line = line_of(script, call)
    log = tmp_path / "attempts"
    result = run(mpi, script, log, opts=("--retries", "2"))
    assert result.returncode == 1, result.stderr
    assert result.stdout == "a 1\n"
    traceback = one_traceback(result.stderr)
    assert e2e.traceback_frames(traceback) == [(name, line)], traceback
    last = e2e.final_error_line(result.stderr)
    expected = final.replace("{name}", re.escape(name)).replace("{line}", str(line))
    assert re.fullmatch(expected, last), last
    assert "tried" not in result.stderr and "MPI rank" not in result.stderr
    assert attempts(log) == ran


LOCK = """
    # autofuture
    import threading


    def use(lock, i):
        with lock:
            return (type(lock).__name__, lock.locked(), i)


    guard = threading.Lock()
    got = use(guard, 1)
    print(got)
    print(guard.locked())
"""


def test_a_lock_argument_arrives_as_a_new_lock(tmp_path, mpi):
    """A lock is not among the inputs that cannot travel: dill, the fallback, sends a new
    one (docs/decisions.md), to a rank as to a loky worker, and the run is the plain one."""
    script = write(tmp_path, "lock.py", LOCK)
    result = run(mpi, script)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "('lock', True, 1)\nFalse\n"
    e2e.assert_same(e2e.run_plain(script, timeout=DEADLINE), result)


# --------------------------------------------------------------------------- retries


def test_per_task_retries_on_listed_exceptions(tmp_path, mpi):
    """As on loky: the second attempt succeeds, an unlisted exception is not retried, and
    the last failure lists every attempt."""
    script = write(tmp_path, "flaky.py", FLAKY)
    line = line_of(script, "b = broken(3)")
    raised = line_of(script, """raise OSError(f"disk gone (attempt {attempt('broken')})")""")
    log = tmp_path / "attempts"
    result = run(mpi, script, log)
    assert result.returncode == 1, result.stderr
    assert result.stdout == "f 10\ncaught not retried 2\n"
    traceback = one_traceback(result.stderr)
    assert e2e.traceback_frames(traceback) == [("flaky.py", line), ("flaky.py", raised)]
    assert "OSError: disk gone (attempt 3)\n" in traceback
    assert e2e.final_error_line(result.stderr) == (
        f"autofuture: task broken() at flaky.py:{line} was tried 3 times; "
        "attempt 1: OSError: disk gone (attempt 1); attempt 2: OSError: disk gone (attempt 2)")
    assert "MPI rank" not in result.stderr
    assert attempts(log) == {"flaky": 2, "wrong": 1, "broken": 3}


RETRIED = """
    # autofuture
    import os
    import sys

    import autofuture

    LOG = sys.argv[1]
    {attempt}

    {decorator}
    def once(i):
        if attempt("once") == 1:
            print("once() dies")
            os._exit(3)
        print("once() lives")
        return i * 10


    def square(i):
        return i * i


    o = once(1)
    print("o", o)
    print([square(i) for i in range(4)])
"""


@pytest.mark.parametrize("how", ["task", "global"])
def test_a_lost_rank_retried_elsewhere_leaves_the_status_to_the_program(tmp_path, mpi, how):
    """``autofuture.task(retries=1)``, or ``--retries 1``: the task that ended its rank runs
    again on the other rank and succeeds. The results are complete, so the status is the
    program's (0); stderr says which rank was lost, running what, and that the run went
    on with one worker rank fewer."""
    decorator = "@autofuture.task(retries=1)" if how == "task" else ""
    script = write(tmp_path, "retried.py", RETRIED.replace("{decorator}", decorator))
    line = line_of(script, "o = once(1)")
    log = tmp_path / "attempts"
    result = run(mpi, script, log, opts=("--retries", "1") if how == "global" else ())
    assert result.returncode == 0, result.stderr
    # The lost attempt's output is dropped with it, as a failed attempt's is on loky.
    assert result.stdout == "once() lives\no 10\n[0, 1, 4, 9]\n", result.stderr
    assert re.fullmatch(
        rf"autofuture: MPI rank [12] \([^)]+\) was lost while running task once\(\) at "
        rf"retried\.py:{line}: the task called os\._exit\(3\)\. The task succeeded when "
        r"retried on another rank; the run finished with 1 of its 2 worker ranks\.\n",
        result.stderr), result.stderr
    assert attempts(log) == {"once": 2}


def test_global_retries_stop_when_no_rank_is_left(tmp_path, mpi):
    """test_faults' RETRY_LOST with ``--retries 2``: once() loses a rank and succeeds on the
    other; always() then loses that one, the last: nothing can run it again, and the error
    says so, naming the rank lost before it."""
    script = write(tmp_path, "retry_lost.py", RETRY_LOST)
    line = line_of(script, "a = always(o)")
    once = line_of(script, "o = once(1)")
    log = tmp_path / "attempts"
    result = run(mpi, script, log, opts=("--retries", "2"))
    assert result.returncode == 1, result.stderr
    assert result.stdout == "o 10\n"
    traceback = one_traceback(result.stderr)
    killed = [n for n, text in enumerate(script.read_text().splitlines(), 1)
              if text.strip() == "os.kill(os.getpid(), 9)"][-1]  # always()'s
    assert e2e.traceback_frames(traceback) == [("retry_lost.py", line), ("retry_lost.py", killed)]
    last = e2e.final_error_line(result.stderr)
    assert re.fullmatch(
        rf"autofuture\.WorkerLostError: MPI rank ([12]) \([^)]+\) was lost while running task "
        rf"always\(\) at retry_lost\.py:{line}: the task sent its own process signal SIGKILL\. "
        rf"It was the last MPI rank running tasks \(before it, MPI rank (?!\1)[12] \([^)]+\) "
        rf"was lost while running task once\(\) at retry_lost\.py:{once}: the task sent its "
        r"own process signal SIGKILL\): the run ends with a non-zero status\.", last), last
    assert attempts(log) == {"once": 2, "always": 1}


# --------------------------------------------------------------------------- dependencies


def test_diamond_failure_reports_the_root_and_starts_no_dependent(tmp_path, mpi):
    script = write(tmp_path, "diamond.py", DIAMOND)
    mark = tmp_path / "mark"
    mark.mkdir()
    result = run(mpi, script, mark)
    assert result.returncode == 1, result.stderr
    assert result.stdout == "first 0\n"
    traceback = one_traceback(result.stderr)
    assert e2e.traceback_frames(traceback) == [
        ("diamond.py", line_of(script, "r = root()")),
        ("diamond.py", line_of(script, 'raise ValueError("root broke")'))]
    assert e2e.final_error_line(result.stderr) == "ValueError: root broke"
    assert sorted(os.listdir(mark)) == []  # left, right and join never started


def test_diamond_failure_with_keep_going_reports_the_root_once(tmp_path, mpi):
    script = write(tmp_path, "diamond.py", DIAMOND)
    mark = tmp_path / "mark"
    mark.mkdir()
    result = run(mpi, script, mark, opts=("--keep-going",))
    root = line_of(script, "r = root()")
    assert result.returncode == 1, result.stderr
    assert result.stdout == "first 0\no 7\n"  # the independent work went on
    traceback = one_traceback(result.stderr)
    assert e2e.traceback_frames(traceback) == [
        ("diamond.py", root), ("diamond.py", line_of(script, 'raise ValueError("root broke")'))]
    assert "ValueError: root broke\n" in traceback
    assert result.stderr.count(f"root() at diamond.py:{root} failed;") == 1
    skipped = ", ".join(f"{task}() at diamond.py:{line_of(script, call)}"
                        for task, call in (("left", "a = left(r)"), ("right", "b = right(r)"),
                                           ("join", "j = join(a, b)"), ("print", 'print("j", j)')))
    assert e2e.final_error_line(result.stderr) == (
        f"autofuture: 1 failed (root() at diamond.py:{root}); 4 dependent operations "
        f"skipped ({skipped})")
    assert sorted(os.listdir(mark)) == []


# --------------------------------------------------------------------------- the end of the job


@pytest.fixture
def live(tmp_path, mpi):
    """test_faults' SLEEPERS under mpiexec -n 3: two naps run, one waits on rank 0.

    ``start(launcher=[...])`` gives mpiexec options.
    """
    runs = []

    def start(launcher=()):
        runs.append(Live(tmp_path, command=lambda script, mark: mpi.argv(
            RANKS, script, [str(mark)], launcher=launcher), env=mpi.env(BUFFERED),
            workers=RANKS - 1))
        return runs[-1]

    yield start
    for one in runs:
        one.close()


def rank_zero(mpi) -> int:
    """The pid of the run's rank 0 (its launcher variables say which it is)."""
    for pid in mpi.processes():
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"PMI_RANK=0" in environ:
            return pid
    raise AssertionError(f"no rank 0 among {mpi.processes()}")


def proxy(mpi) -> int:
    """The pid of the launcher's process that started the ranks (hydra's proxy)."""
    found = [pid for pid, command in mpi.processes().items() if "hydra_pmi_proxy" in command]
    assert len(found) == 1, mpi.processes()
    return found[0]


def ended_within(mpi, one: Live, limit: float):
    """(mpiexec's status or None, seconds until no process of the run was left)."""
    started = time.monotonic()
    status = one.wait_exit(limit)
    left = mpi.leftovers(grace=max(0.0, limit - (time.monotonic() - started)))
    return status, time.monotonic() - started, left


def test_ctrl_c_ends_every_rank_with_one_traceback(live, mpi):
    one = live()
    one.wait_sleeping()
    one.proc.send_signal(signal.SIGINT)  # what a terminal's Ctrl-C does to mpiexec
    status, took, left = ended_within(mpi, one, END_WITHIN)
    assert status == 130, f"status {status} within {END_WITHIN}s; stderr: {one.err}"
    assert not left, f"{took:.1f}s after Ctrl-C: {left}"
    one.close()
    assert launcher_free(one.out) == "before 1\n", one.out  # nothing after the wait
    traceback = one_traceback(one.err)
    assert e2e.traceback_frames(traceback) == [
        ("sleepers.py", line_of(one.script, 'print("after", naps)'))]
    assert e2e.final_error_line(one.err) == "KeyboardInterrupt"  # MPI_Abort's line is not


def test_second_ctrl_c_ends_it_at_once(live, mpi):
    """A second Ctrl-C is mpiexec's own business: MPICH's kills every rank at once and says
    so. Its status is its own too: 255 or 1, but MPICH 5.0's is sometimes 0 (docs/mpi.md
    warns); 130 if rank 0 had ended the job before the second came."""
    one = live()
    one.wait_sleeping()
    one.proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    if one.proc.poll() is None:
        one.proc.send_signal(signal.SIGINT)
    status, took, left = ended_within(mpi, one, END_WITHIN)
    forced = "Ctrl-C caught... cleaning up processes\n" in one.out
    assert status == 130 or (forced and status in (255, 1, 0)), f"status {status}; {one.err}"
    assert not left, f"{took:.1f}s after two Ctrl-Cs: {left}"
    one.close()
    assert launcher_free(one.out) == "before 1\n" + (
        "Ctrl-C caught... cleaning up processes\n" if forced else ""), one.out
    assert one.err.count(TRACEBACK) <= 1, one.err
    assert not e2e.INTERNAL_FRAME.search(one.err)


def test_sigterm_to_mpiexec_ends_every_rank_with_143(live, mpi):
    """mpiexec forwards SIGTERM to every rank: worker ranks leave it to rank 0, which ends
    the job as a local run ends, with 143 and nothing on stderr."""
    one = live()
    one.wait_sleeping()
    one.proc.send_signal(signal.SIGTERM)
    status, took, left = ended_within(mpi, one, END_WITHIN)
    assert status == 128 + signal.SIGTERM, f"status {status}; stderr: {one.err}"
    assert not left, f"{took:.1f}s after SIGTERM: {left}"
    one.close()
    assert one.out == "before 1\n"
    assert one.err == ""


def test_sigkill_of_rank_zero_ends_every_rank(live, mpi):
    """The driver is killed: the launcher kills the worker ranks at once, and says so."""
    one = live()
    one.wait_sleeping()
    os.kill(rank_zero(mpi), signal.SIGKILL)
    status, took, left = ended_within(mpi, one, END_WITHIN)
    assert status == signal.SIGKILL, f"status {status}; stderr: {one.err}"
    assert not left, f"{took:.1f}s after rank 0 was killed: {left}"
    one.close()
    ours, banner = split_banner(one.out)
    assert ours == "before 1\n"
    assert BANNER in banner and "Killed (signal 9)" in banner, banner
    assert one.err == ""


def test_sigkill_of_mpiexec_ends_every_rank(live, mpi):
    """mpiexec itself is killed: its proxy, losing it, kills every rank."""
    one = live()
    one.wait_sleeping()
    one.proc.send_signal(signal.SIGKILL)
    status, took, left = ended_within(mpi, one, END_WITHIN)
    assert status == -signal.SIGKILL
    assert not left, f"{took:.1f}s after mpiexec was killed: {left}"
    one.close()
    assert one.out == "before 1\n"
    assert one.err == ""


def test_sigkill_of_rank_zero_ends_every_rank_without_the_launchers_help(live, mpi):
    """``mpiexec -disable-auto-cleanup`` keeps the other ranks running when one dies (as
    srun does without --kill-on-bad-exit): the worker ranks, busy with a 30 s task, see
    that rank 0 is gone and leave by themselves."""
    one = live(launcher=["-disable-auto-cleanup"])
    one.wait_sleeping()
    os.kill(rank_zero(mpi), signal.SIGKILL)
    status, took, left = ended_within(mpi, one, END_WITHIN)
    assert status is not None and status != 0, f"status {status}; stderr: {one.err}"
    assert not left, f"{took:.1f}s after rank 0 was killed: {left}"
    one.close()
    # Without its cleanup, MPICH's report is only the end of the usual one.
    assert one.out.startswith("before 1\nYOUR APPLICATION TERMINATED WITH THE EXIT STRING: "
                              "Killed (signal 9)\n"), one.out


def test_sigkill_of_the_launchers_proxy_ends_every_rank(live, mpi):
    """The launcher's process on the node (hydra's proxy; a node daemon elsewhere) dies:
    every rank, rank 0 included, sees its parent gone and leaves; mpiexec then fails."""
    one = live()
    one.wait_sleeping()
    os.kill(proxy(mpi), signal.SIGKILL)
    status, took, left = ended_within(mpi, one, END_WITHIN)
    assert status == 255, f"status {status}; stderr: {one.err}"  # MPICH's mpiexec
    assert not left, f"{took:.1f}s after the proxy was killed: {left}"
    one.close()
    assert one.out == "before 1\n"
