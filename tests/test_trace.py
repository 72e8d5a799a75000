"""``--trace FILE`` as a user meets it: real runs on loky with two workers, the file
read back line by line, and a run killed with SIGKILL that still leaves its trace.

Every run is a subprocess in a session of its own (e2e.py); conftest.py fails a
test whose runs leave a process behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import e2e
import pytest

from autofuture import __version__
from autofuture.observe import report as _report
from autofuture.observe import trace as _trace

TIMEOUT = 60.0

DIAMOND = """\
# autofuture
def source():
    return 1


def left(x):
    return x + 10


def right(x):
    return x * 3


def join(a, b):
    return a * 100 + b


top = source()
lhs = left(top)
rhs = right(top)
bottom = join(lhs, rhs)
print(bottom)
more = [left(i) for i in range(6)]
print(more)
"""


def write(path: Path, source: str) -> Path:
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def autofuture(cwd: Path, *argv: str, timeout: float = TIMEOUT) -> e2e.Run:
    result = e2e._run([sys.executable, "-m", "autofuture", *argv], cwd, None, timeout)
    assert not result.timed_out, f"hung: {result.describe()}\n{result.stderr[-2000:]}"
    return result


def events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def line_of(source: str, text: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


# --------------------------------------------------------------------------- a real run


@pytest.fixture(scope="module")
def diamond_run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("diamond")
    write(cwd / "diamond.py", DIAMOND)
    plain = e2e._run([sys.executable, "diamond.py"], cwd, None, TIMEOUT)
    result = autofuture(cwd, "-n", "2", "--executor", "loky", "--trace", "run.jsonl",
                        "diamond.py", "alpha")
    return plain, result, events(cwd / "run.jsonl")


def test_trace_does_not_change_what_the_program_prints(diamond_run):
    plain, result, _ = diamond_run
    assert result.returncode == 0, result.stderr
    assert result.stdout == plain.stdout
    assert result.stderr == ""


def test_the_first_line_describes_the_run_and_the_last_its_exit(diamond_run):
    _, _, trace = diamond_run
    head, last = trace[0], trace[-1]
    assert head["event"] == "run"
    assert head["format"] == _trace.FORMAT
    assert head["autofuture"] == __version__
    assert head["script"] == "diamond.py"
    assert head["argv"] == ["diamond.py", "alpha"]
    assert head["executor"] == "loky"
    assert head["workers"] == 2
    assert abs(head["time"] - time.time()) < 120
    assert last == {"event": "exit", "status": 0, "time": last["time"]}
    assert last["time"] >= head["time"]
    opened = [e for e in trace if e["event"] == "executor"]
    assert opened == [{"event": "executor", "name": "loky", "workers": 2,
                       "time": opened[0]["time"]}]


def test_each_task_is_called_sent_ended_and_committed_in_that_order(diamond_run):
    _, _, trace = diamond_run
    seen: dict[int, list[tuple[str, int]]] = {}
    for index, event in enumerate(trace):
        kind = event["event"]
        if kind == "send":
            for task_id in event["ids"]:
                seen.setdefault(task_id, []).append(("send", index))
        elif kind in ("task", "end", "commit"):
            seen.setdefault(event["id"], []).append((kind, index))
    assert sorted(seen) == list(range(1, 11))  # 4 diamond tasks + 6 in the comprehension
    for task_id, order in seen.items():
        assert [kind for kind, _ in order] == ["task", "send", "end", "commit"], (task_id, order)
    times = {}
    for event in trace:
        if event["event"] == "task":
            times[event["id"]] = {"submit": event["time"]}
        elif event["event"] == "send":
            for task_id in event["ids"]:
                times[task_id]["send"] = event["time"]
        elif event["event"] == "end":
            times[event["id"]].update(start=event["start"], end=event["end"],
                                      received=event["time"])
        elif event["event"] == "commit":
            times[event["id"]]["commit"] = event["time"]
    for task_id, t in times.items():
        # One machine, one clock: the instants follow each other.
        assert t["submit"] <= t["send"] <= t["start"] <= t["end"] <= t["received"] \
            <= t["commit"], (task_id, t)


def test_tasks_carry_function_call_site_and_the_deps_of_the_diamond(diamond_run):
    _, _, trace = diamond_run
    tasks = {e["id"]: e for e in trace if e["event"] == "task"}
    by_line = {(e["function"], e["line"]): e for e in tasks.values()}
    source = by_line[("source", line_of(DIAMOND, "top = source()"))]
    lhs = by_line[("left", line_of(DIAMOND, "lhs = left(top)"))]
    rhs = by_line[("right", line_of(DIAMOND, "rhs = right(top)"))]
    bottom = by_line[("join", line_of(DIAMOND, "bottom = join"))]
    assert source["deps"] == []
    assert lhs["deps"] == [source["id"]]
    assert rhs["deps"] == [source["id"]]
    assert bottom["deps"] == sorted([lhs["id"], rhs["id"]])
    assert bottom["label"] == f"join() at diamond.py:{bottom['line']}"
    assert all(e["file"] == "diamond.py" for e in tasks.values())
    comprehension = [e for e in tasks.values() if e["line"] == line_of(DIAMOND, "more = [")]
    assert len(comprehension) == 6
    assert all(e["deps"] == [] and e["function"] == "left" for e in comprehension)


def test_workers_outcomes_and_bytes_are_recorded(diamond_run):
    _, _, trace = diamond_run
    driver = trace[0]["pid"]
    ends = [e for e in trace if e["event"] == "end"]
    workers = {e["worker"] for e in ends}
    assert all(re.fullmatch(r"pid \d+", w) for w in workers), workers
    assert f"pid {driver}" not in workers  # the tasks ran in worker processes
    assert 1 <= len(workers) <= 2
    assert all(e["ok"] is True and e["bytes"] > 0 and e["end"] >= e["start"] for e in ends)
    assert all(e["bytes"] > 0 for e in trace if e["event"] == "send")
    assert not any(e["failed"] for e in trace if e["event"] == "commit")


# --------------------------------------------------------------------------- failures


def test_a_failed_task_and_the_task_that_needed_it(tmp_path):
    write(tmp_path / "fails.py", """\
        # autofuture
        def boom(x):
            raise ValueError(f"no {x}")


        def double(x):
            return 2 * x


        def fine(x):
            return x


        ok = fine(1)
        bad = boom(2)
        after = double(bad)
        print(ok)
        print(after)
    """)
    result = autofuture(tmp_path, "-n", "2", "--trace", "t.jsonl", "--keep-going", "fails.py")
    assert result.returncode == 1
    assert "ValueError: no 2" in result.stderr
    trace = _trace.read(str(tmp_path / "t.jsonl"))
    by_function = {t.function: t for t in trace.tasks.values()}
    assert by_function["fine"].outcome == "ok"
    assert by_function["boom"].outcome == "failed"
    assert by_function["boom"].ok is False and by_function["boom"].failed is True
    dependent = by_function["double"]
    assert dependent.deps == [by_function["boom"].id]
    assert dependent.outcome == "not run"  # its input failed: never sent, committed as failed
    assert dependent.send is None and dependent.start is None
    assert trace.complete and trace.exit["status"] == 1


def test_an_unwritable_trace_file_is_warned_about_and_the_program_runs(tmp_path):
    write(tmp_path / "x.py", "# autofuture\nprint('ran')\n")
    result = autofuture(tmp_path, "--trace", "no/such/dir/t.jsonl", "x.py")
    assert result.returncode == 0
    assert result.stdout == "ran\n"
    assert result.stderr.splitlines() == [
        "autofuture: warning: cannot write the trace to no/such/dir/t.jsonl: No such file or "
        "directory; the run goes on without a trace"]


def test_reading_a_file_that_is_not_a_trace_says_so(tmp_path):
    (tmp_path / "x.jsonl").write_text('{"event": "task", "id": 1}\n')
    with pytest.raises(_trace.TraceError, match="not an autofuture trace"):
        _trace.read(str(tmp_path / "x.jsonl"))
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(_trace.TraceError, match="is empty"):
        _trace.read(str(tmp_path / "empty.jsonl"))


# --------------------------------------------------------------------------- a killed run

LONG = """\
# autofuture
import time


def work(i):
    time.sleep(0.2)
    return i


results = [work(i) for i in range(100)]
print(sum(results))
"""


def test_a_run_killed_with_sigkill_leaves_a_readable_partial_trace(tmp_path):
    write(tmp_path / "long.py", LONG)
    trace_path = tmp_path / "killed.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "autofuture", "-n", "2", "--trace", str(trace_path), "long.py"],
        cwd=tmp_path, env=e2e._child_env(None), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    e2e.STARTED_SESSIONS.append(proc.pid)
    try:
        deadline = time.monotonic() + TIMEOUT
        ended = 0
        while ended < 4:
            assert time.monotonic() < deadline, "the run never got four tasks done"
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
            if trace_path.exists():
                ended = trace_path.read_text().count('"event":"end"')
        os.kill(proc.pid, signal.SIGKILL)  # the driver only, mid-run
        assert proc.wait(timeout=TIMEOUT) == -signal.SIGKILL
    except BaseException:
        e2e.kill_session(proc.pid)
        raise
    # The workers notice their driver's death by themselves (conftest.py checks).
    lines = trace_path.read_text(encoding="utf-8").splitlines()
    parsed = [json.loads(line) for line in lines]  # every line written is whole
    assert parsed[0]["event"] == "run"
    assert all(e["event"] != "exit" for e in parsed)
    trace = _trace.read(str(trace_path))
    assert not trace.complete
    assert trace.problems == []
    outcomes = [t.outcome for t in trace.tasks.values()]
    assert outcomes.count("ok") >= 4
    assert outcomes.count("ok") < 100  # killed mid-run
    assert set(outcomes) <= {"ok", "running", "queued"}
    page = _report.render(trace)  # the report is made from what there is
    assert "Incomplete: the trace ends without the run&#x27;s exit" in page


def test_a_last_line_cut_short_is_skipped_not_fatal(tmp_path):
    whole = [
        {"event": "run", "format": 1, "script": "x.py", "argv": ["x.py"], "executor": "loky",
         "workers": 2, "time": 100.0},
        {"event": "task", "id": 1, "label": "f() at x.py:3", "deps": [], "time": 100.1},
        {"event": "send", "ids": [1], "bytes": 10, "time": 100.2},
    ]
    text = "".join(json.dumps(e) + "\n" for e in whole) + '{"event":"end","id":1,"sta'
    (tmp_path / "cut.jsonl").write_text(text)
    trace = _trace.read(str(tmp_path / "cut.jsonl"))
    assert trace.problems and "cut short" in trace.problems[0][1]
    assert trace.tasks[1].outcome == "running"
    assert trace.tasks[1].function == "f" and trace.tasks[1].line == 3


@pytest.mark.parametrize("label, expected", [
    ("f() at x.py:12", ("f", "x.py", 12)),
    ("<lambda>() at my file.py:3 -> tuple[int, int]", ("<lambda>", "my file.py", 3)),
    ("Model.fit() at m.py:40", ("Model.fit", "m.py", 40)),
    ("odd", ("odd", "?", 0)),
])
def test_labels_split_into_function_file_and_line(label, expected):
    assert _trace.split_label(label) == expected
