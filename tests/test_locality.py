"""Results stay where they are computed (issue 19).

Big results (``worker.store.HOLD_BYTES`` and more) stay on the loky worker or
MPI rank that computed them; the workflow fetches only what it reads; values
no future refers to are freed; a worker over ``--worker-memory`` sends its
oldest results to the workflow; a result lost with its worker is made again
from its lineage. Each program is also run with plain ``python``, and the
outputs compared (``e2e.assert_same``); what moved where is read from the
run's ``--trace``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import e2e
import mpirun
import pytest

pytest.importorskip("numpy")

DEADLINE = 120.0

CHAINS = """\
# autofuture
import numpy as np

def make(n: int, fill: float) -> np.ndarray:
    return np.full(n, fill)

def step(a: np.ndarray) -> np.ndarray:
    return a + 1.0

def total(a: np.ndarray) -> float:
    return float(a.sum())

N = 256 * 1024          # 2 MiB per array
sums = []
for fill in (0.0, 10.0):
    a = make(N, fill)
    b = step(step(step(step(a))))
    c = step(step(step(step(b))))
    sums.append(total(c))
print([s / N for s in sums])
"""


def write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_chain_of_arrays_stays_on_the_workers(tmp_path):
    """The issue's program: only the two floats reach the workflow."""
    program = write(tmp_path, "chains.py", CHAINS)
    trace = tmp_path / "trace.jsonl"
    plain = e2e.run_plain(program, timeout=DEADLINE)
    fut = e2e.run_autofuture(program, "loky", workers=2, timeout=DEADLINE,
                             extra_opts=["--trace", str(trace)])
    e2e.assert_same(plain, fut)
    seen = events(trace)
    ends = [e for e in seen if e["event"] == "end"]
    assert len(ends) == 2 * 10
    held = [e for e in ends if "held" in e]
    assert len(held) == 2 * 9  # make and the eight steps; total's float comes back
    assert all(e["held"] >= 2 * 1024 * 1024 for e in held)
    assert sum(e["bytes"] for e in ends) < 4096, "array bytes reached the workflow"
    assert not [e for e in seen if e["event"] == "fetch"]
    # Every step read its input where it was (on its own worker, or moved once).
    reads = [e["inputs"] for e in ends if "inputs" in e]
    assert len(reads) == 2 * 9 and all(r["read"] >= 2 * 1024 * 1024 for r in reads)
    # Tasks went to their data: each chain ran on the worker holding its arrays.
    assert sum(r["moved"] for r in reads) == 0
    # The report shows it: what stayed on workers, what moved, where each result is.
    from autofuture.observe import report
    from autofuture.observe import trace as _trace

    read = _trace.read(str(trace))
    makes = [t for t in read.tasks.values() if t.function == "make"]
    assert [t.held >= 2 * 1024 * 1024 for t in makes] == [True, True]
    # The first loop's ``a`` is gone (taken or freed); the last is still bound, and held.
    assert makes[0].lives in ("taken by its reader", "freed")
    assert makes[1].lives.startswith("pid "), makes[1].lives
    page = report.render(read)
    section = page[page.index('<section id="data">'):]
    section = section[:section.index("</section>")]
    assert "kept on workers</th><td class=\"num\">37.8 MB" in section
    assert "moved between workers</th><td class=\"num\">0 B" in section


READS = """\
# autofuture
import autofuture
import numpy as np

def make(n: int, fill: float) -> np.ndarray:
    return np.full(n, fill)

def step(a: np.ndarray) -> np.ndarray:
    return a + 1.0

kept = step(make(300_000, 1.0))
unread = step(make(300_000, 2.0))
print(kept[:3], kept.shape)          # a read of the value in the workflow: fetched
also = step(kept)                    # the workflow's copy goes back with the task
print(autofuture.result(also)[-1], float(step(unread)[0]))
"""


def test_the_workflow_fetches_only_what_it_reads(tmp_path):
    program = write(tmp_path, "reads.py", READS)
    trace = tmp_path / "trace.jsonl"
    plain = e2e.run_plain(program, timeout=DEADLINE)
    fut = e2e.run_autofuture(program, "loky", workers=2, timeout=DEADLINE,
                             extra_opts=["--trace", str(trace)])
    e2e.assert_same(plain, fut)
    seen = events(trace)
    labels = {e["id"]: e["label"] for e in seen if e["event"] == "task"}
    fetched = sorted(labels[e["id"]] for e in seen if e["event"] == "fetch")
    # kept (line 10), also (line 14) and the step of unread (line 15): read in the
    # workflow; make's results and unread itself never are.
    # kept (line 11) for its slice, also (line 14) for autofuture.result, and the step
    # of unread (line 15) for its element; make's results and unread itself never.
    assert fetched == ["step() at reads.py:11", "step() at reads.py:14",
                       "step() at reads.py:15"]
    assert all(e["bytes"] >= 300_000 * 8 for e in seen if e["event"] == "fetch")


FREED = """\
# autofuture
import numpy as np
from autofuture.worker import store

def make(n: int, fill: float) -> np.ndarray:
    return np.full(n, fill)

def total(a: np.ndarray) -> float:
    return float(a.sum())

def held_mib(after: float) -> int:
    return store.held_bytes() // (1024 * 1024)

# 4 MiB each, 160 MiB in all
LOOP
everything = sum(sums)
print(everything)
print("held MiB after:", held_mib(everything))
"""


@pytest.mark.parametrize(("loop", "why", "left"), [
    # The one task that reads each array takes it: no copy, nothing left to free.
    ("sums = [total(make(512 * 1024, float(i))) for i in range(40)]", "taken", 0),
    # A name refers to each array while total() runs (the if waits for it): freed when
    # the next one replaces it; the last stays bound after the loop, and so stays held.
    ("sums = []\nfor i in range(40):\n    x = make(512 * 1024, float(i))\n"
     "    s = total(x)\n    if s >= 0:\n        sums.append(s)", "unused", 1),
])
def test_results_no_future_refers_to_are_freed_on_their_worker(tmp_path, loop, why, left):
    program = write(tmp_path, "freed.py", FREED.replace("LOOP", loop))
    trace = tmp_path / "trace.jsonl"
    fut = e2e.run_autofuture(program, "loky", workers=1, timeout=DEADLINE,
                             extra_opts=["--trace", str(trace)])
    assert fut.returncode == 0, fut.stderr
    lines = fut.stdout.splitlines()
    assert lines[0] == str(float(sum(i * 512 * 1024 for i in range(40))))
    assert lines[1] == f"held MiB after: {4 * left}"
    seen = events(trace)
    held = {e["id"] for e in seen if e["event"] == "end" and "held" in e}
    gone = {i for e in seen if e["event"] == "free" and e["why"] == why for i in e["ids"]}
    assert len(held) == 40 and len(held - gone) == left


MEMORY = """\
# autofuture
import numpy as np

def make(n: int, fill: float) -> np.ndarray:
    return np.full(n, fill)

arrays = [make(256 * 1024, float(i)) for i in range(6)]      # 2 MiB each, kept
print([float(a.sum()) for a in arrays])
"""


def test_a_worker_over_its_memory_sends_its_oldest_results_to_the_workflow(tmp_path):
    program = write(tmp_path, "memory.py", MEMORY)
    trace = tmp_path / "trace.jsonl"
    plain = e2e.run_plain(program, timeout=DEADLINE)
    fut = e2e.run_autofuture(program, "loky", workers=1, timeout=DEADLINE,
                             extra_opts=["--trace", str(trace), "--worker-memory", "5M"])
    e2e.assert_same(plain, fut)
    seen = events(trace)
    memory = [e for e in seen if e["event"] == "fetch" and e["why"] == "memory"]
    # 6 x 2 MiB on one worker allowed 5 MiB: the oldest go until two are left.
    assert len(memory) == 4
    ids = [e["id"] for e in seen if e["event"] == "end"]
    assert [e["id"] for e in memory] == ids[:4]


KILLED = """\
# autofuture
import os
import sys
import time
import numpy as np

marks = sys.argv[1]

def make(i: int) -> np.ndarray:
    return np.full(100_000, float(i))

def step(a: np.ndarray, i: int) -> np.ndarray:
    # The test kills a worker that holds one of these results.
    open(os.path.join(marks, f"held-{i}-{os.getpid()}"), "w").close()
    return a * 2.0

def gate() -> int:
    while not os.path.exists(os.path.join(marks, "go")):
        time.sleep(0.01)
    return 0

def total(a: np.ndarray, g: int) -> float:
    return float(a.sum()) + g

arrays = [step(make(i), i) for i in range(4)]
g = gate()
print([total(a, g) for a in arrays])
"""


def test_a_killed_worker_holding_results_others_need_is_recomputed(tmp_path):
    """SIGKILL from outside to a worker holding step() results that total() needs:
    with --retries the output is the plain run's (loky ends the pool's other workers
    too, so every held result is lost and made again from its lineage)."""
    program = write(tmp_path, "killed.py", KILLED)
    marks = tmp_path / "marks"
    marks.mkdir()
    (marks / "go").touch()
    plain = e2e.run_plain(program, args=[str(marks)], timeout=DEADLINE)
    assert plain.returncode == 0, plain.stderr
    for path in marks.iterdir():
        path.unlink()
    argv = [sys.executable, "-m", "autofuture", "-n", "3", "--retries", "2",
            "--trace", str(tmp_path / "trace.jsonl"), program.name, str(marks)]
    proc = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(e2e.REPO_ROOT)})
    e2e.STARTED_SESSIONS.append(proc.pid)
    outputs: list = []
    reader = threading.Thread(target=lambda: outputs.append(proc.communicate()), daemon=True)
    reader.start()
    deadline = time.monotonic() + DEADLINE
    try:
        # The results are held once their marks are there and the trace has their end.
        trace = tmp_path / "trace.jsonl"
        while True:
            assert time.monotonic() < deadline, "the step() tasks never ran"
            assert proc.poll() is None, "the run ended before the worker was killed"
            held = [p.name for p in marks.iterdir() if p.name.startswith("held-")]
            ended = [e for e in (events(trace) if trace.exists() else [])
                     if e["event"] == "end" and "held" in e]
            if len(held) == 4 and len(ended) >= 8:
                break
            time.sleep(0.05)
        victim = int(sorted(held)[0].rsplit("-", 1)[1])
        os.kill(victim, signal.SIGKILL)
        (marks / "go").touch()
        reader.join(DEADLINE)
        assert not reader.is_alive(), "the run did not end"
    finally:
        if proc.poll() is None:
            e2e.kill_session(proc.pid)
    stdout, stderr = outputs[0]
    assert (proc.returncode, stdout) == (plain.returncode, plain.stdout), stderr
    seen = events(tmp_path / "trace.jsonl")
    assert [e for e in seen if e["event"] == "recompute"], "nothing was made again"


def test_with_checkpoint_results_come_back_to_the_workflow(tmp_path):
    """--checkpoint keeps each result in its directory, so each must reach the workflow."""
    program = write(tmp_path, "chains.py", CHAINS)
    trace = tmp_path / "trace.jsonl"
    fut = e2e.run_autofuture(program, "loky", workers=2, timeout=DEADLINE,
                             extra_opts=["--trace", str(trace), "--checkpoint",
                                         str(tmp_path / "ck")])
    assert fut.returncode == 0, fut.stderr
    assert not [e for e in events(trace) if e["event"] == "end" and "held" in e]


# -- the store itself -----------------------------------------------------------------------


def test_the_store_serves_takes_and_frees_held_values(tmp_path, monkeypatch):
    np = pytest.importorskip("numpy")
    from autofuture.worker import serialize, store

    monkeypatch.setattr(store, "_store", store._Store())
    store.set_directory(str(tmp_path))
    store.begin(("run", {}, 1))
    value = np.arange(100_000, dtype=np.float64)
    note = store.maybe_hold(7, value, serialize.value_payload(value), 1)
    assert note[0] == store.HELD_TAG
    number, nbytes, address, type_name = note[1]
    assert (number, type_name) == (7, "numpy.ndarray") and nbytes >= value.nbytes
    assert store.held_bytes() == nbytes
    got, moved = store.request(address[1], ("run", 7), False)
    assert (got == value).all() and got is not value and moved >= value.nbytes
    # A local copy: mutating it leaves the held value alone.
    store.begin(("run", {7: ("at", address, False)}, 1))
    copy = store.lookup(7)
    copy[0] = -1.0
    assert store.lookup(7)[0] == 0.0
    store.tell(address[1], "free", [("run", 7)])
    assert store.held_bytes() == 0
    with pytest.raises(KeyError):
        store.request(address[1], ("run", 7), False)
    with pytest.raises(store.HeldLost):
        store.lookup(8)
    store.close_connections()


# -- MPI ------------------------------------------------------------------------------------

MPI_READS = CHAINS + """\
last = step(make(N, 1.0))
print(last[:3])
"""


@pytest.mark.mpi
def test_under_mpi_rank_0_receives_only_what_the_workflow_reads(tmp_path):
    """Counted in the trace: the two floats and the one array the workflow prints."""
    mpirun.skip_without_mpi()
    program = write(tmp_path, "chains.py", MPI_READS)
    trace = tmp_path / "trace.jsonl"
    plain = e2e.run_plain(program, timeout=DEADLINE)
    runner = mpirun.MPIRunner()
    fut = runner.run(3, program, opts=["--trace", str(trace)])
    assert (fut.returncode, fut.stdout) == (plain.returncode, plain.stdout), fut.stderr
    seen = events(trace)
    labels = {e["id"]: e["label"] for e in seen if e["event"] == "task"}
    ends = [e for e in seen if e["event"] == "end"]
    fetches = [e for e in seen if e["event"] == "fetch"]
    assert sum(e["bytes"] for e in ends) < 4096
    assert [labels[e["id"]] for e in fetches] == ["step() at chains.py:21"]
    assert fetches[0]["bytes"] >= 256 * 1024 * 8


MPI_LOST = """\
# autofuture
import os
import sys
import numpy as np

marks = sys.argv[1]

def make(i: int) -> np.ndarray:
    return np.full(100_000, float(i))

def killer() -> int:
    # Under autofuture, the first attempt ends its own rank, and what that rank held.
    first = not os.path.exists(os.path.join(marks, "killed"))
    if os.environ.get("AUTOFUTURE_WORKER") == "1" and first:
        open(os.path.join(marks, "killed"), "w").close()
        os._exit(3)
    return 1

def total(a: np.ndarray, k: int) -> float:
    return float(a.sum()) * k

arrays = [make(i) for i in range(4)]
k = killer()
print([total(a, k) for a in arrays])
"""


@pytest.mark.mpi
def test_under_mpi_results_lost_with_a_rank_are_made_again(tmp_path):
    """A task ends its own rank, which holds some of the arrays the next tasks read:
    with --retries the task runs again on another rank, and the lost arrays are made
    again from their lineage; the output is the plain run's."""
    mpirun.skip_without_mpi()
    program = write(tmp_path, "lost.py", MPI_LOST)
    marks = tmp_path / "marks"
    marks.mkdir()
    plain = e2e.run_plain(program, args=[str(marks)], timeout=DEADLINE)
    trace = tmp_path / "trace.jsonl"
    fut = mpirun.MPIRunner().run(3, program, args=[str(marks)],
                                 opts=["--retries", "1", "--trace", str(trace)])
    assert (fut.returncode, fut.stdout) == (plain.returncode, plain.stdout), fut.stderr
    assert (marks / "killed").exists()
    seen = events(trace)
    held = {e["id"] for e in seen if e["event"] == "end" and "held" in e}
    assert len(held) >= 4
    assert "succeeded when retried on another rank" in fut.stderr


BIG = """\
# autofuture
import time
import numpy as np

def make(fill: float) -> np.ndarray:
    return np.full(13 * 1024 * 1024, fill)      # 104 MiB

def pause(after: list) -> int:
    time.sleep(1.5)  # longer than loky's one second between two checks of a worker's memory
    return len(after)

def size(a: np.ndarray) -> int:
    return a.size

def total(a: np.ndarray, n: int) -> float:
    return float(a[:n].sum())

arrays = [make(float(i)) for i in range(4)]
sizes = [size(a) for a in arrays]
n = pause(sizes)
m = pause([n])
print(sizes, [total(a, 1000 + m) for a in arrays])
"""


def test_a_worker_holding_hundreds_of_mb_is_not_ended_as_leaking(tmp_path):
    """loky ends a worker whose memory grew by 300 MB, taking it for a leak: held results
    must not count as one (each would be lost and made again)."""
    program = write(tmp_path, "big.py", BIG)
    trace = tmp_path / "trace.jsonl"
    plain = e2e.run_plain(program, timeout=DEADLINE)
    fut = e2e.run_autofuture(program, "loky", workers=1, timeout=DEADLINE,
                             extra_opts=["--trace", str(trace)])
    e2e.assert_same(plain, fut)
    seen = events(trace)
    assert not [e for e in seen if e["event"] == "recompute"]
    assert len({e["worker"] for e in seen if e["event"] == "end"}) == 1


TREE = """\
# autofuture
import autofuture
import numpy as np

def make(n: int) -> np.ndarray:
    return np.zeros(n)

def shift(a: np.ndarray, i: int) -> np.ndarray:
    return a + float(i)

def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a + b

@autofuture.workflow
def tree(xs: list) -> np.ndarray:
    if len(xs) == 1:
        return xs[0]
    return tree([add(xs[i], xs[i + 1]) if i + 1 < len(xs) else xs[i]
                 for i in range(0, len(xs), 2)])

root = make(100_000)
total = tree([shift(root, i) for i in range(5)])
print(len([root, total]), autofuture.result(total)[:3])
"""


def test_a_fan_in_reads_only_its_root(tmp_path):
    """``len()`` of a list of futures waits for none of them, so the tree fetches nothing
    but the sum the workflow prints."""
    program = write(tmp_path, "tree.py", TREE)
    trace = tmp_path / "trace.jsonl"
    plain = e2e.run_plain(program, timeout=DEADLINE)
    fut = e2e.run_autofuture(program, "loky", workers=2, timeout=DEADLINE,
                             extra_opts=["--trace", str(trace)])
    e2e.assert_same(plain, fut)
    seen = events(trace)
    labels = {e["id"]: e["label"] for e in seen if e["event"] == "task"}
    last = max(e["id"] for e in seen if e["event"] == "task")
    assert [e["id"] for e in seen if e["event"] == "fetch"] == [last], labels


SPECULATIVE = """\
# autofuture
import time

import autofuture
import numpy as np


def make(n: int, fill: float) -> np.ndarray:
    return np.full(n, fill)


def slow(x):
    time.sleep(0.5)
    return x


def scaled(a: np.ndarray, config: dict) -> float:
    return float(a.sum()) * config["k"]


@autofuture.local
def set_k(config, k):
    config["k"] = k


config = {"k": 1}
a = make(300_000, 1.0)
b = make(300_000, 2.0)
set_k(config, slow(2))          # pending: it may change config, which the tasks read
first = scaled(a, config)       # sent at once, speculatively: config changes, runs again
print(autofuture.result(first))  # waits: set_k has run when this goes on
set_k(config, slow(2))          # the same value again
second = scaled(b, config)      # sent at once: the same capture after it, kept
print(second)
"""


def test_a_speculative_task_reading_held_values_never_fetches_them(tmp_path):
    """A task made while a local call that may change its inputs is pending is sent at
    once and its inputs captured again once the call ran (issue 13): a held input is
    captured again as the reference it was sent as, never brought into the workflow, and
    a task run again for a changed capture reads it where it is."""
    program = write(tmp_path, "speculative.py", SPECULATIVE)
    trace = tmp_path / "trace.jsonl"
    plain = e2e.run_plain(program, timeout=DEADLINE)
    assert plain.stdout == "600000.0\n1200000.0\n"
    fut = e2e.run_autofuture(program, "loky", workers=2, timeout=DEADLINE,
                             extra_opts=["--trace", str(trace)])
    e2e.assert_same(plain, fut)
    seen = events(trace)
    labels = {e["id"]: e["label"] for e in seen if e["event"] == "task"}
    assert not [e for e in seen if e["event"] == "fetch"], "a held input was fetched"
    ends = [labels[e["id"]] for e in seen if e["event"] == "end"]
    # The first scaled() ran twice (its config changed), the second once.
    assert ends.count("scaled() at speculative.py:30") == 2, ends
    assert ends.count("scaled() at speculative.py:33") == 1, ends
    held = [e for e in seen if e["event"] == "end" and "held" in e]
    assert len(held) == 2  # both arrays stayed on their workers
