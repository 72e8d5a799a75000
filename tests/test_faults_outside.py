"""Faults from outside the tasks (issue 14): workers killed or stopped by someone else.

test_faults.py kills workers from inside a task; here the test itself does it, as the
OOM killer or an operator's ``kill -9`` would, at moments it chooses by watching the
run: the files its tasks write as they start and before they return, and its
``--trace`` file's events. Every run is a session of its own, has a hard deadline,
and must leave no process behind (an explicit scan here, and conftest.py's check).

- the issue's program (eight tasks on two loky workers), one worker killed at 21
  moments: before the first task starts, as each task starts and mid-way, while a
  task returns its result, between two tasks of a worker, and on the fresh worker that
  replaced one lost to a first kill. The oracle is what the killed worker was
  doing: in a task, the run fails at once with ``WorkerLostError`` naming that task's
  call; otherwise (idle, returning), the run's output is the plain run's. A lost
  task runs again before later work; a worker killed idle while holding a result
  another task needs costs only that result, made again from its lineage;
- the guard: a worker that dies leaving loky's result pipe half written (loky then
  waits forever, blind to the death) is given up within about a second
  (``executors/watchdog.py``);
- a chaos soak: a tree reduction of 511 tasks of mixed durations while a random
  worker is killed every ~0.5 s: with ``--retries`` the output is the plain run's,
  without it the run fails within seconds of the first kill, naming a task;
- hung tasks: ``autofuture.task(timeout=...)``, ``--task-timeout`` (and
  ``AUTOFUTURE_TASK_TIMEOUT``), retries, a worker stopped with SIGSTOP, bad values;
- ``--executor thread``: a thread cannot be killed from outside; what applies is the
  driver's SIGKILL (nothing left behind) and time limits (said not to be enforced, as
  with ``serial``);
- ``mpiexec -n 3``: a rank killed from outside ends the job at once, non-zero; a task
  past its time limit fails naming it and the job ends non-zero, never hangs.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import e2e
import mpirun
import pytest
from e2e import describe_processes as describe
from e2e import line_of, wait_gone
from test_faults import Live, one_traceback, write

#: Hard limit on one run: only a hang gets near it.
DEADLINE = 30.0
#: A run that fails because of a kill ends within this many seconds of it.
FAILS_WITHIN = 8.0

OUTSIDE = """
    # autofuture
    import os
    import sys
    import time

    MARK = sys.argv[1]


    def slow(i):
        open(os.path.join(MARK, f"started-{i}-{os.getpid()}"), "w").close()
        time.sleep(0.4)
        open(os.path.join(MARK, f"returning-{i}-{os.getpid()}"), "w").close()
        return i


    print("start", flush=True)
    r0 = slow(0)
    r1 = slow(1)
    r2 = slow(2)
    r3 = slow(3)
    r4 = slow(4)
    r5 = slow(5)
    r6 = slow(6)
    r7 = slow(7)
    print(sum([r0, r1, r2, r3, r4, r5, r6, r7]))
"""


class Outside(e2e.LiveRun):
    """A run of ``script`` in its own session, watched through its mark directory and trace."""

    def __init__(self, tmp_path: Path, script: Path, opts=(), executor="loky", workers=2,
                 env=None):
        self.mark = tmp_path / "mark"
        self.mark.mkdir(exist_ok=True)
        self.trace = tmp_path / "trace.jsonl"
        argv = [sys.executable, "-m", "autofuture", "-n", str(workers), "--executor", executor,
                "--trace", str(self.trace), *opts, script.name, str(self.mark)]
        self.started = time.monotonic()
        super().__init__(argv, script.parent, env)

    def pairs(self, kind: str) -> set[tuple[int, int]]:
        """(task number, worker pid) of each ``kind`` file ('started', 'returning'): a task
        that ran again has one per attempt."""
        found = set()
        for name in os.listdir(self.mark):
            what, _, rest = name.partition("-")
            if what == kind:
                number, _, pid = rest.partition("-")
                found.add((int(number), int(pid)))
        return found

    def marks(self, kind: str) -> dict[int, int]:
        """task number -> pid of a worker that wrote a ``kind`` file for it."""
        return dict(sorted(self.pairs(kind)))

    def events(self, kind: str) -> list[dict]:
        try:
            lines = self.trace.read_text().splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == kind:
                out.append(event)
        return out

    def workers(self) -> list[int]:
        """The run's loky worker processes alive now."""
        found = []
        for pid in e2e.session_members(self.sid):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if any(word.encode() in command for word in e2e.WORKER_COMMANDS):
                found.append(pid)
        return sorted(found)

    def wait_for(self, probe, what: str, limit: float = DEADLINE):
        deadline = time.monotonic() + limit
        while True:
            found = probe()
            if found:
                return found
            assert self.proc.poll() is None, f"ended before {what}: {self.err}"
            assert time.monotonic() < deadline, f"never saw {what}: {self.err}"
            time.sleep(0.005)

    def kill(self, pid: int, sig=signal.SIGKILL) -> float:
        """Signal ``pid`` (gone already at the very end of a run: nothing to do); the time."""
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
        return time.monotonic()

    def finish(self, limit: float = DEADLINE) -> int:
        """The exit status; fails on a hang or on a process left behind."""
        try:
            status = self.proc.wait(timeout=max(0.1, self.started + limit - time.monotonic()))
        except subprocess.TimeoutExpired:
            e2e.kill_session(self.sid)
            self.proc.wait()
            pytest.fail(f"hung: no end within {limit}s\nstderr: {self.err[-3000:]}")
        for reader in self.readers:
            reader.join(timeout=e2e.PIPE_GRACE)
        self.ended = time.monotonic()
        left = wait_gone(self.sid)
        assert not left, f"left behind:\n{describe(left)}"
        return status


@pytest.fixture
def outside(tmp_path):
    runs = []

    def start(script, *args, **kwargs):
        runs.append(Outside(tmp_path, script, *args, **kwargs))
        return runs[-1]

    yield start
    for one in runs:
        one.close()


# --------------------------------------------------------------------------- the program

def _started(k: int, delay: float = 0.0):
    def choose(one: Outside) -> int:
        pid = one.wait_for(lambda: one.marks("started").get(k), f"task {k} starting")
        time.sleep(delay)
        return pid
    return choose


def _returning(k: int):
    def choose(one: Outside) -> int:
        return one.wait_for(lambda: one.marks("returning").get(k), f"task {k} returning")
    return choose


def _between(k: int):
    """The worker that ran task k, as soon as its result reached the workflow."""
    def choose(one: Outside) -> int:
        # Trace ids count calls from 1: task k is id k + 1.
        event = one.wait_for(lambda: [e for e in one.events("end") if e["id"] == k + 1],
                             f"the end of task {k}")[0]
        return int(event["worker"].split()[1])
    return choose


def _before_first(one: Outside) -> int:
    pids = one.wait_for(one.workers, "a worker process")
    assert not one.marks("started"), "a task started before the workers were seen"
    return pids[0]


def _fresh_pool(one: Outside) -> int:
    """Kill a worker before the first task, then one of the fresh pool as soon as it exists."""
    first = _before_first(one)
    old = set(one.workers())
    one.kill(first)
    return one.wait_for(lambda: sorted(set(one.workers()) - old), "a fresh worker")[0]


MOMENTS = {
    "before-the-first-task": _before_first,
    **{f"as-task-{k}-starts": _started(k) for k in range(8)},
    **{f"mid-task-{k}": _started(k, 0.2) for k in (0, 1, 3, 5, 7)},
    **{f"while-task-{k}-returns": _returning(k) for k in (0, 3, 6, 7)},
    **{f"after-task-{k}-between-tasks": _between(k) for k in (1, 4)},
    "on-the-fresh-pool-after-a-loss": _fresh_pool,
}


@pytest.mark.parametrize("moment", MOMENTS)
def test_one_worker_killed_from_outside(tmp_path, outside, moment):
    """The oracle is what the killed worker was doing when it died: running task k
    (started, not returning) fails the run naming task k's call, at once; idle or
    returning, the task runs again and the output is the plain run's."""
    script = write(tmp_path, "outside.py", OUTSIDE)
    one = outside(script)
    victim = MOMENTS[moment](one)
    killed = one.kill(victim)
    status = one.finish()
    started = {k for k, pid in one.pairs("started") if pid == victim}
    returning = {k for k, pid in one.pairs("returning") if pid == victim}
    running = started - returning
    if running:
        assert status == 1, f"killed in task {sorted(running)}: {status}\n{one.err}"
        assert one.out == "start\n", one.err
        traceback = one_traceback(one.err)
        last = e2e.final_error_line(one.err)
        assert last.startswith("autofuture.WorkerLostError: the worker running task slow() at "
                               "outside.py:"), last
        line = int(re.search(r"slow\(\) at outside\.py:(\d+)", last).group(1))
        named = {k for k in range(8) if line == line_of(script, f"r{k} = slow({k})")}
        assert named <= running and named, f"named {named}, killed in {running}: {last}"
        assert e2e.traceback_frames(traceback) == [("outside.py", line)]
        assert one.ended - killed < FAILS_WITHIN, f"{one.ended - killed:.1f}s after the kill"
    elif returning & started:  # killed after its task's last line: either is right
        assert status in (0, 1), one.err
        if status == 0:
            assert one.out == "start\n28\n", one.err
    else:
        assert status == 0, f"killed idle: {status}\n{one.err}"
        assert one.out == "start\n28\n", one.err
        assert one.err == ""


def test_the_oldest_task_runs_again_first_after_a_loss(tmp_path, outside):
    """The issue's silent wait: task 1's worker is killed and, with a retry, task 1 runs
    again before the tasks still waiting to be sent (4-7), so the commit that waits for it
    is not held back behind all the later work. (Appended at the end, as it was, task 4
    left first: the first send after the loss was [5].) Only the killed worker is
    replaced: task 0, on the other worker, is not touched."""
    script = write(tmp_path, "outside.py", OUTSIDE.replace("time.sleep(0.4)", "time.sleep(1)"))
    one = outside(script, opts=("--retries", "1"))
    victim = _started(1, 0.3)(one)
    one.kill(victim)
    status = one.finish()
    assert status == 0, one.err
    assert one.out == "start\n28\n", one.err
    events = [json.loads(line) for line in one.trace.read_text().splitlines()]
    lost = [i for i, e in enumerate(events) if e["event"] == "lost"]
    assert [events[i]["culprits"] for i in lost] == [[2]], [events[i] for i in lost]
    after = [e["ids"] for e in events[lost[0]:] if e["event"] == "send"]
    assert after and after[0] == [2], after  # task 1 (id 2) leaves first
    # ... and starts before the tasks waiting in the pool's own queue (3, queued before
    # the loss) and the later ones: the oldest work is what the next commit waits for.
    start = {e["id"]: e["start"] for e in events if e["event"] == "end"}
    assert all(start[2] < start[k + 1] for k in range(3, 8)), start
    assert len(one.pairs("started")) == 9, sorted(one.pairs("started"))  # only task 1 twice
    assert {k for k, _ in one.pairs("started")} == set(range(8))


HELD = """
    # autofuture
    import os
    import sys
    import time

    import numpy as np

    MARK = sys.argv[1]


    def make(i):
        time.sleep(0.3)  # both run at once, on workers 0 and 1; the gate goes to worker 2
        return np.full(100_000, float(i))  # 800 kB: held on the worker that made it


    def gate():
        open(os.path.join(MARK, f"started-9-{os.getpid()}"), "w").close()
        while not os.path.exists(os.path.join(MARK, "go")):
            time.sleep(0.01)
        return 0


    def total(a, g):
        return float(a.sum()) + g


    a = make(1)
    b = make(2)
    g = gate()
    print(total(a, g), total(b, g))
"""


def test_results_held_by_a_worker_killed_idle_are_made_again(tmp_path, outside):
    """A worker holding a result another task needs is killed from outside while idle:
    no task is to blame (no retries needed), the result is made again from its lineage,
    and only that worker is replaced: the gate's worker, still running, is untouched."""
    script = write(tmp_path, "held.py", HELD)
    plain_marks = tmp_path / "plain"
    plain_marks.mkdir()
    (plain_marks / "go").touch()
    plain = e2e.run_plain(script, args=[str(plain_marks)], timeout=DEADLINE)
    assert plain.returncode == 0, plain.stderr
    one = outside(script, workers=3)
    ends = one.wait_for(lambda: [e for e in one.events("end") if e.get("held")] if len(
        [e for e in one.events("end") if e.get("held")]) == 2 else None, "two held results")
    gate = one.wait_for(lambda: one.marks("started").get(9), "the gate starting")
    holders = {int(e["worker"].split()[1]) for e in ends}
    assert len(holders) == 2, ends
    victim = min(holders - {gate})
    one.kill(victim)
    (one.mark / "go").touch()
    status = one.finish()
    assert status == 0, one.err
    assert one.out == plain.stdout
    assert one.err == ""
    assert one.events("recompute"), "nothing was made again"
    assert gate in {int(e["worker"].split()[1]) for e in one.events("end") if e["id"] == 3}


# --------------------------------------------------------------------------- the guard

WEDGE = """
    # autofuture
    import sys
    import time


    def wedge():
        # Half a message in loky's result pipe, then death: loky's thread reads the rest
        # of it forever and never looks at its workers again.
        import gc
        import os
        import struct

        from loky.backend.queues import SimpleQueue

        gc.unfreeze()  # the worker froze what its start-up made (worker.runner.init_worker)
        for queue in [q for q in gc.get_objects() if isinstance(q, SimpleQueue)]:
            os.write(queue._writer.fileno(), struct.pack("!i", 10_000_000) + b"x" * 100)
        os.kill(os.getpid(), 9)


    def fine(i):
        time.sleep(0.2)
        return i


    a = fine(1)
    w = wedge()
    b = fine(2)
    print("a", a)
    print("w", w)
    print("b", b)
"""


def test_a_pool_that_stops_delivering_is_given_up_within_seconds(tmp_path, outside):
    script = write(tmp_path, "wedge.py", WEDGE)
    one = outside(script)
    status = one.finish()
    assert status == 1, one.err
    assert one.out == ""
    traceback = one_traceback(one.err)
    assert e2e.traceback_frames(traceback) == [("wedge.py", line_of(script, "w = wedge()"))]
    last = e2e.final_error_line(one.err)
    assert last.startswith(f"autofuture.WorkerLostError: the worker running task wedge() at "
                           f"wedge.py:{line_of(script, 'w = wedge()')} died"), last
    assert "did not report it within 1 s" in last, last
    assert one.ended - one.started < 15, f"{one.ended - one.started:.1f}s"


FORKY = """
    # autofuture
    import os
    import sys
    import time


    def forky():
        # A child of the task inherits the worker's end of its channel and outlives it
        # by a few seconds: the channel sees no hang-up until the child ends.
        if os.fork() == 0:
            time.sleep(4)
            os._exit(0)
        time.sleep(0.2)
        os.kill(os.getpid(), 9)


    def fine(i):
        time.sleep(0.2)
        return i


    a = fine(1)
    w = forky()
    print("a", a)
    print("w", w)
"""


def test_a_dead_worker_whose_channel_a_child_keeps_open_is_given_up(tmp_path, outside):
    """Nothing tells the workflow of this death (no hang-up on the socket, loky's
    notice unread while the channel waits): the watchdog gives the worker up within a
    second, not when the child ends (without it: only then, with loky's exit code)."""
    script = write(tmp_path, "forky.py", FORKY)
    one = outside(script)
    status = one.finish()
    assert status == 1, one.err
    assert one.out == ""
    last = e2e.final_error_line(one.err)
    assert last.startswith(f"autofuture.WorkerLostError: the worker running task forky() at "
                           f"forky.py:{line_of(script, 'w = forky()')} died"), last
    assert "did not report it within 1 s" in last, last


# --------------------------------------------------------------------------- chaos soak

CHAOS = """
    # autofuture
    import time


    def leaf(i):
        time.sleep((i * 7919 % 7) / 1000 + (0.05 if i % 37 == 0 else 0))
        return i * i % 1009


    def pair(a, b):
        time.sleep(0.001 if (a + b) % 3 else 0.01)
        return (a + b) % 1000003


    leaves = [leaf(i) for i in range(256)]
    l1 = [pair(leaves[2 * i], leaves[2 * i + 1]) for i in range(128)]
    l2 = [pair(l1[2 * i], l1[2 * i + 1]) for i in range(64)]
    l3 = [pair(l2[2 * i], l2[2 * i + 1]) for i in range(32)]
    l4 = [pair(l3[2 * i], l3[2 * i + 1]) for i in range(16)]
    l5 = [pair(l4[2 * i], l4[2 * i + 1]) for i in range(8)]
    l6 = [pair(l5[2 * i], l5[2 * i + 1]) for i in range(4)]
    l7 = [pair(l6[2 * i], l6[2 * i + 1]) for i in range(2)]
    top = pair(l7[0], l7[1])
    print("leaves", sum(leaves))
    print("top", top)
"""


def chaos(one: Outside, every: float = 0.5, most: int | None = None) -> list[float]:
    """Kill a random worker of the run about every ``every`` s until it ends (or after
    ``most`` kills); the kill times."""
    kills: list[float] = []
    rng = random.Random(14)

    def killer():
        while one.proc.poll() is None and (most is None or len(kills) < most):
            time.sleep(every * rng.uniform(0.6, 1.4))
            pids = one.workers()
            if pids:
                try:
                    kills.append(one.kill(rng.choice(pids)))
                except ProcessLookupError:
                    pass

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    one.killer = thread
    return kills


def progress(one: Outside) -> str:
    """What the trace says of a soak: results back, losses, commits, and when the last came."""
    counts = {kind: one.events(kind) for kind in ("end", "lost", "commit")}
    last = max((e["time"] for events in counts.values() for e in events), default=None)
    return (", ".join(f"{len(events)} {kind}" for kind, events in counts.items())
            + (f", the last {time.time() - last:.1f}s ago" if last else ""))


def test_chaos_soak_with_retries_gives_the_plain_output(tmp_path, outside):
    """24 kills, about every 0.5 s (a soak of ~12 s), then the run finishes: every task's
    result is the plain run's. (Unbounded, on a loaded machine the pool may spend all its
    time starting workers that die before they run anything: slow, not stuck.)"""
    script = write(tmp_path, "chaos.py", CHAOS)
    plain = e2e.run_plain(script, timeout=DEADLINE)
    assert plain.returncode == 0, plain.stderr
    one = outside(script, opts=("--retries", "1000"))
    kills = chaos(one, most=24)
    try:
        status = one.finish(limit=120)
    except BaseException:
        print(f"{len(kills)} kills; {progress(one)}")
        raise
    one.killer.join(timeout=5)
    assert status == 0, f"{len(kills)} kills; {progress(one)}: {one.err[-3000:]}"
    assert one.out == plain.stdout
    assert len(kills) >= 3, f"only {len(kills)} kills: the soak did not soak"
    assert len(one.events("lost")) >= 1


def test_chaos_soak_without_retries_fails_soon_naming_a_task(tmp_path, outside):
    script = write(tmp_path, "chaos.py", CHAOS)
    one = outside(script)
    kills = chaos(one)
    status = one.finish()
    one.killer.join(timeout=5)
    assert kills, "no worker was killed"
    assert status == 1, one.err
    last = e2e.final_error_line(one.err)
    assert re.match(r"autofuture\.WorkerLostError: the worker running task (leaf|pair)\(\) at "
                    r"chaos\.py:\d+ died", last), last
    one_traceback(one.err)
    assert one.ended - kills[0] < FAILS_WITHIN, f"{one.ended - kills[0]:.1f}s after the first kill"


# --------------------------------------------------------------------------- hung tasks

HUNG = """
    # autofuture
    import os
    import sys
    import time

    import autofuture

    MARK = sys.argv[1]


    def fine(i):
        time.sleep(0.3)
        return i


    @autofuture.task(timeout=1)
    def hangs(i):
        time.sleep(60)
        return i


    a = [fine(i) for i in range(4)]
    h = hangs(1)
    b = [fine(i) for i in range(4, 8)]
    print("a", a)
    print("h", h)
    print("b", b)
"""


def test_a_task_past_its_timeout_fails_naming_it_and_its_limit(tmp_path, outside):
    """Its worker is killed and replaced; the innocent tasks still give their results."""
    script = write(tmp_path, "hung.py", HUNG)
    line = line_of(script, "h = hangs(1)")
    one = outside(script, opts=("--keep-going",))
    status = one.finish()
    assert status == 1, one.err
    assert one.out == "a [0, 1, 2, 3]\nb [4, 5, 6, 7]\n", one.err
    traceback = one_traceback(one.err)
    assert e2e.traceback_frames(traceback) == [("hung.py", line)]
    assert re.search(rf"^TimeoutError: task hangs\(\) at hung\.py:{line} ran past its time "
                     r"limit of 1 s; its worker process was killed and replaced\.",
                     traceback, re.MULTILINE), traceback
    # Only the hung task's worker was lost (each worker is a pool of its own).
    assert [e["culprits"] for e in one.events("lost")] == [[5]], one.events("lost")
    assert one.ended - one.started < 15


ONCE = """
    # autofuture
    import os
    import sys
    import time

    MARK = sys.argv[1]


    def once(i):
        tries = os.path.join(MARK, f"try-{i}")
        with open(tries, "a") as file:
            file.write("x")
        if i == 2 and os.path.getsize(tries) == 1:
            time.sleep(60)  # hangs on its first attempt only
        return i * 10


    r = [once(i) for i in range(4)]
    print(r)
"""


def test_task_timeout_option_with_retries_runs_a_hung_task_again(tmp_path, outside):
    script = write(tmp_path, "once.py", ONCE)
    one = outside(script, opts=("--task-timeout", "1", "--retries", "1"))
    status = one.finish()
    assert status == 0, one.err
    assert one.out == "[0, 10, 20, 30]\n"
    assert (one.mark / "try-2").read_text() == "xx"


def test_a_worker_stopped_from_outside_is_a_hung_task(tmp_path, outside):
    """SIGSTOP: the task never ends; AUTOFUTURE_TASK_TIMEOUT's limit catches it."""
    script = write(tmp_path, "outside.py", OUTSIDE)
    one = outside(script, env={"AUTOFUTURE_TASK_TIMEOUT": "1.5"})
    victim = _started(1, 0.1)(one)
    stopped = one.kill(victim, signal.SIGSTOP)
    status = one.finish()
    assert status == 1, one.err
    assert one.out == "start\n"
    last = e2e.final_error_line(one.err)
    line = line_of(script, "r1 = slow(1)")
    assert last.startswith(f"TimeoutError: task slow() at outside.py:{line} ran past its time "
                           "limit of 1.5 s;"), last
    # The limit counts from the task's start, 0.1 s and a file-system poll before the stop.
    assert 1.2 < one.ended - stopped < FAILS_WITHIN, f"{one.ended - stopped:.2f}s"


@pytest.mark.parametrize(("opts", "env", "message"), [
    (["--task-timeout", "soon"], {}, "argument --task-timeout: expected a number of seconds, "
                                     "got 'soon'"),
    (["--task-timeout", "-2"], {}, "argument --task-timeout: expected a number of seconds "
                                   "(0 for no limit), got '-2'"),
    ([], {"AUTOFUTURE_TASK_TIMEOUT": "1m"}, "AUTOFUTURE_TASK_TIMEOUT: expected a number of "
                                            "seconds, got '1m'"),
])
def test_a_bad_time_limit_is_a_usage_error(tmp_path, opts, env, message):
    script = write(tmp_path, "outside.py", OUTSIDE)
    result = e2e.run_autofuture(script, "loky", workers=2, extra_opts=opts, env=env,
                                args=[str(tmp_path)], timeout=DEADLINE)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == f"python -m autofuture: error: {message}"


@pytest.mark.parametrize("bad", [0, -1, float("inf"), "5", True])
def test_task_timeout_argument_is_checked_when_marking(bad):
    import autofuture

    with pytest.raises((TypeError, ValueError), match=r"autofuture\.task\(timeout=\.\.\.\)"):
        autofuture.task(timeout=bad)(lambda: None)


# --------------------------------------------------------------------------- --executor thread


def test_thread_executor_driver_killed_from_outside_leaves_nothing(tmp_path):
    """A thread cannot be killed from outside the process; killing the process can."""
    one = Live(tmp_path, command=lambda script, mark: [
        sys.executable, "-m", "autofuture", "--executor", "thread", "-n", "3", script.name,
        str(mark)])
    try:
        one.wait_sleeping()
        os.kill(one.sid, signal.SIGKILL)
        assert one.wait_exit(5) == -signal.SIGKILL
        assert not wait_gone(one.sid)
    finally:
        one.close()


@pytest.mark.parametrize(("executor", "why"), [
    ("thread", "a task running on a thread of the workflow's own process"),
    ("serial", "a task running in the workflow's own thread"),
])
def test_thread_and_serial_executors_say_time_limits_are_not_enforced(tmp_path, executor, why):
    script = write(tmp_path, "hung.py", HUNG.replace("time.sleep(60)", "time.sleep(1.5)"))
    result = e2e.run_autofuture(script, executor, workers=2, args=[str(tmp_path)],
                                timeout=DEADLINE)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "a [0, 1, 2, 3]\nh 1\nb [4, 5, 6, 7]\n"
    assert result.stderr == (
        "autofuture: warning: task time limits (--task-timeout, autofuture.task(timeout=...)) "
        f"are not enforced with --executor {executor}: {why} cannot be stopped; use "
        "--executor loky (or mpi) for them\n")


# --------------------------------------------------------------------------- mpiexec -n 3


def _rank_pid(mpi, rank: int, mark: Path, k: int | None) -> int:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if k is not None:
            found = [n for n in os.listdir(mark) if n.startswith(f"started-{k}-")]
            if found:
                return int(found[0].rsplit("-", 1)[1])
        else:
            for pid in mpi.processes():
                try:
                    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                except OSError:
                    continue
                if f"PMI_RANK={rank}".encode() in environ:
                    return pid
        time.sleep(0.005)
    raise AssertionError("the rank was never seen")


@pytest.mark.mpi
@pytest.mark.parametrize("moment", ["before-the-first-task", "mid-task-1", "mid-task-4"])
def test_mpi_rank_killed_from_outside_ends_the_job_non_zero(tmp_path, mpi, moment):
    mpirun.skip_without_mpi()
    script = write(tmp_path, "outside.py", OUTSIDE)
    mark = tmp_path / "mark"
    mark.mkdir()
    k = None if moment == "before-the-first-task" else int(moment.rsplit("-", 1)[1])
    killed = []

    def kill():
        pid = _rank_pid(mpi, 1, mark, k)
        if k is not None:
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
        killed.append(time.monotonic())

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    result = mpi.run(3, script, [str(mark)], env={"PYTHONUNBUFFERED": ""}, timeout=DEADLINE)
    thread.join(timeout=5)
    said = f"{result.describe()}\nstdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-2000:]}"
    assert killed, said
    assert not result.timed_out, f"hung: {said}"
    assert result.returncode not in (0, None), said
    assert not mpi.leftovers()


MPI_HUNG = """
    # autofuture
    import time

    import autofuture


    def fine(i):
        time.sleep(0.2)
        return i


    @autofuture.task(timeout=1)
    def hangs(i):
        time.sleep(60)
        return i


    a = [fine(i) for i in range(4)]
    print("a", a, flush=True)
    h = hangs(1)
    print("h", h)
"""


@pytest.mark.mpi
def test_mpi_task_past_its_timeout_ends_the_job_naming_it(tmp_path, mpi):
    """The rank cannot be stopped nor replaced: the task fails naming it, and the job ends
    non-zero (MPI_Abort, since the rank never answers the end of the run)."""
    mpirun.skip_without_mpi()
    script = write(tmp_path, "mpi_hung.py", MPI_HUNG)
    line = line_of(script, "h = hangs(1)")
    result = mpi.run(3, script, env={"PYTHONUNBUFFERED": ""}, timeout=DEADLINE)
    assert not result.timed_out, f"hung: {result.describe()}"
    assert result.returncode == 1, result.describe() + result.stderr
    assert result.stdout.startswith("a [0, 1, 2, 3]\n"), result.stdout
    traceback = one_traceback(result.stderr)
    assert e2e.traceback_frames(traceback) == [("mpi_hung.py", line)]
    assert re.search(rf"^TimeoutError: task hangs\(\) at mpi_hung\.py:{line} ran past its time "
                     r"limit of 1 s on MPI rank [12]\. ", traceback, re.MULTILINE), traceback
    assert result.duration < 15
    assert not mpi.leftovers()


MPI_ONCE = """
    # autofuture
    import os
    import sys
    import time

    import autofuture

    MARK = sys.argv[1]


    @autofuture.task(timeout=1, retries=1)
    def once(i):
        tries = os.path.join(MARK, f"try-{i}")
        with open(tries, "a") as file:
            file.write("x")
        if i == 2 and os.path.getsize(tries) == 1:
            time.sleep(60)  # hangs on its first attempt only
        return i * 10


    r = [once(i) for i in range(4)]
    print(r)
"""


@pytest.mark.mpi
def test_mpi_task_past_its_timeout_with_retries_runs_on_another_rank(tmp_path, mpi):
    """The retry runs on the other rank and the results are the plain run's; the given-up
    rank never answers the end of the run, so the job still ends non-zero, saying why."""
    mpirun.skip_without_mpi()
    script = write(tmp_path, "mpi_once.py", MPI_ONCE)
    mark = tmp_path / "mark"
    mark.mkdir()
    line = line_of(script, "r = [once(i) for i in range(4)]")
    result = mpi.run(3, script, [str(mark)], env={"PYTHONUNBUFFERED": ""}, timeout=DEADLINE)
    assert not result.timed_out, f"hung: {result.describe()}"
    assert result.stdout.startswith("[0, 10, 20, 30]\n"), result.stdout + result.stderr
    assert result.returncode == 1, result.describe() + result.stderr
    assert (mark / "try-2").read_text() == "xx"
    assert re.search(rf"MPI rank [12] was given up: task once\(\) at mpi_once\.py:{line} ran "
                     r"past its time limit of 1 s\. The task succeeded when retried on another "
                     "rank", result.stderr), result.stderr
    assert result.duration < 15
    assert not mpi.leftovers()
