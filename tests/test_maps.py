"""Maps (runtime/maps.py): a list comprehension of one task call per element, run as
slices. The differential programs are tests/programs/map_*.py; here, what they cannot
show: the look-ahead bound, the options under which maps take the per-element path
(--keep-going, --retries, --trace), and a worker lost in the middle of a slice.

    python -m pytest tests/test_maps.py -q
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import e2e
import pytest

import autofuture
from autofuture.runtime import abi, maps
from autofuture.runtime import scheduler as _scheduler

TIMEOUT = 120.0


@autofuture.task
def ident(i):
    return i


@pytest.fixture
def threads(scheduler_with):
    """A thread-executor scheduler with a small look-ahead; shut down afterwards."""
    scheduler_with(executor="thread", workers=2, lookahead=1000)


def test_a_million_element_map_keeps_the_look_ahead_bound(threads):
    """What the rewriter makes of ``[ident(i) for i in range(1_000_000)]``: the elements
    pending in the log (a slice counting as its elements) never pass the bound by
    more than one slice, and every element gets its own future and value."""
    n = 1_000_000
    seen = {"max": 0, "slices": 0}

    def watched(steps):
        scheduler = _scheduler.current()
        for item in steps:
            m = maps._open
            piece = m.piece if m is not None else None
            pending = maps._weight(scheduler) + (len(piece.arglists) if piece else 0)
            seen["max"] = max(seen["max"], pending)
            yield item

    results = [abi.each(ident, i) for i in watched(abi.mapping(range(n)))]
    cap = max(1, 1000 // 4)
    assert seen["max"] <= 1000 + cap, seen
    assert len(results) == n
    assert all(type(f) is autofuture.Future for f in results[:: n // 100])
    assert abi.value(abi.call(sum, results)) == n * (n - 1) // 2
    assert ident in maps._seconds, "the map never ran as slices"


def write(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "prog.py"
    path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    return path


def run(path: Path, *opts: str, executor: str = "loky") -> e2e.Run:
    result = e2e.run_autofuture(path, executor, workers=2, extra_opts=opts, timeout=TIMEOUT)
    assert not result.timed_out, f"hung: {result.describe()}\n{result.stderr[-3000:]}"
    return result


FAILING_MAP = """
    # autofuture
    def check(i):
        print("check", i)
        if i in (3, 7):
            raise ValueError(f"bad {i}")
        return i

    warm = [check(i) for i in range(20, 40)]
    if sum(warm) != 590:
        raise SystemExit("wrong")
    out = [check(i) for i in range(10)]
    print("after", len(out))
"""


def test_keep_going_reports_every_failing_element(tmp_path):
    """--keep-going finishes what does not depend on a failure: each failing element is
    reported at its turn, and the others' output shows (maps take the per-element path)."""
    path = write(tmp_path, FAILING_MAP)
    result = run(path, "--keep-going")
    assert result.returncode == 1, result.describe()
    assert result.stderr.count("failed; --keep-going goes on") == 2, result.stderr
    assert "ValueError: bad 3" in result.stderr and "ValueError: bad 7" in result.stderr
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("check ")][-10:] == \
        [f"check {i}" for i in range(10)]
    assert "after 10" in lines


def test_retries_run_a_failing_element_again(tmp_path):
    """retries=/retry_on=: a map's element that fails once (a file marks its first
    attempt) succeeds on its second; the output is the plain run's."""
    source = """
        # autofuture
        import os
        import sys

        import autofuture

        @autofuture.task(retries=1, retry_on=(OSError,))
        def flaky(i, where):
            mark = os.path.join(where, f"tried-{i}")
            if i % 5 == 2 and not os.path.exists(mark):
                open(mark, "w").close()
                raise OSError(f"first attempt of {i}")
            print("ok", i)
            return i * 3

        out = [flaky(i, sys.argv[1]) for i in range(12)]
        print(sum(out))
    """
    path = write(tmp_path, source)
    marks = tmp_path / "marks"
    marks.mkdir()
    result = e2e.run_autofuture(path, "loky", workers=2, args=[str(marks)],
                                timeout=TIMEOUT)
    assert not result.timed_out
    assert result.returncode == 0, result.describe()
    assert result.stdout.splitlines() == [f"ok {i}" for i in range(12)] + ["198"]
    assert sorted(p.name for p in marks.iterdir()) == ["tried-2", "tried-7"]


def test_trace_names_each_element_task(tmp_path):
    """--trace: every element of a map is a task of its own in the trace, with its label."""
    path = write(tmp_path, """
        # autofuture
        def double(i):
            return 2 * i

        warm = [double(i) for i in range(10)]
        if sum(warm) != 90:
            raise SystemExit("wrong")
        out = [double(i) for i in range(200)]
        print(sum(out))
    """)
    trace = tmp_path / "t.jsonl"
    result = run(path, "--trace", str(trace))
    assert result.returncode == 0, result.describe()
    assert result.stdout.strip() == "39800"
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    tasks = [e for e in events if e["event"] == "task"]
    assert len(tasks) == 210
    assert {e["function"] for e in tasks} == {"double"}
    assert sum(1 for e in tasks if e["line"] == 8) == 200
    ends = {e["id"] for e in events if e["event"] == "end"}
    assert {e["id"] for e in tasks} <= ends


@pytest.mark.parametrize("executor", ["loky", "thread"])
def test_worker_lost_in_a_slice_ends_the_run_naming_the_task(tmp_path, executor):
    """A worker that dies in the middle of a slice (os._exit): the output of the elements
    committed before that slice shows, the run ends with the task named, and nothing
    hangs. (Under threads the element ends the whole process, as in the plain run.)"""
    path = write(tmp_path, """
        # autofuture
        import os

        def step(i):
            if i == 150:
                os._exit(3)
            return i

        warm = [step(i) for i in range(20)]
        if sum(warm) != 190:
            raise SystemExit("wrong")
        print("warm", sum(warm))
        out = [step(i) for i in range(300)]
        print("never", sum(out))
    """)
    result = run(path, executor=executor)
    assert result.returncode != 0, result.describe()
    assert "never" not in result.stdout
    if executor == "loky":
        assert "warm 190" in result.stdout
        assert "step() at prog.py:13" in result.stderr, result.stderr
        assert "died" in result.stderr, result.stderr


def test_an_element_whose_result_cannot_travel_fails_at_its_turn(tmp_path):
    """In a slice, element 5's result cannot be pickled: the output of elements 0-5
    shows, later elements' does not, and the error names the task at its call site."""
    path = write(tmp_path, """
        # autofuture
        def make(i):
            print("make", i)
            if i == 5:
                return (x for x in [])
            return i

        warm = [make(i) for i in range(20, 40)]
        if sum(warm) != 590:
            raise SystemExit("wrong")
        out = [make(i) for i in range(10)]
        print("never")
    """)
    result = run(path)
    assert result.returncode == 1, result.describe()
    lines = result.stdout.splitlines()
    assert lines[20:] == [f"make {i}" for i in range(6)]
    assert "SerializationError: task make() at prog.py:11: its result, a builtins.generator" \
        in result.stderr
    if sys.version_info < (3, 12):  # from 3.12 a comprehension has no frame of its own
        assert "in <listcomp>" in result.stderr
