"""A message of several tasks stops at its first failure (worker.runner.run_batch).

Without ``--keep-going`` the error reaches the workflow at once, and the tasks after it
in the message do not run: the plain run never got to them (SPEC §5, "later tasks
are cancelled"), so their side effects must not happen, and ``--checkpoint`` must not
record them. ``--keep-going`` still runs them.

The script makes the batch happen on purpose: once quick tasks have told the
scheduler that tasks are short, ten ``step`` tasks wait for one quick ``start`` and
become ready together while ``nap`` keeps a worker busy; ``-n 2`` then sends them in
a few messages of several tasks (the same under MPI, Dask and Parsl, whose
messages run ``run_batch`` too). ``step(0)`` raises at once and ``step(1)``, next in
its message, would create a file and sleep. Each run is traced, and each test checks
from the trace that the two steps did share a message.
"""

from __future__ import annotations

import json
import sys
import textwrap

import e2e
import mpirun
import pytest

from autofuture.runtime import payloads as _payloads
from autofuture.worker import context, runner, serialize, store

SCRIPT = textwrap.dedent("""\
    # autofuture
    import os
    import sys
    import time


    def quick(i):
        return i


    def nap(seconds):
        time.sleep(seconds)
        return seconds


    def step(i, start, marker):
        if i == 0 and not os.path.exists(marker + ".fixed"):
            raise ValueError(f"step {i} failed")
        if i == 1:
            open(marker, "w").close()
            with open(marker + ".sleep") as file:
                time.sleep(float(file.read()))
        return start + i


    marker = sys.argv[1]
    warm = []
    for i in range(20):
        warm.append(quick(i))
    if sum(warm) == 190:  # waits: the workflow knows tasks are short now
        print("warmed up")
    slow = nap(2)
    start = quick(0)
    print("slept", slow)
    for i in range(10):
        print("step", step(i, start, marker))
""")
#: Longer than any run may take here: a run that waits for step(1) times out.
SLEEP = 60
DEADLINE = 45.0


def write(tmp_path, sleep=SLEEP, fixed=False):
    """The script, and what step(0) and step(1) do (files: a task's arguments stay the
    same from run to run, which --checkpoint needs)."""
    script = tmp_path / "stops.py"
    script.write_text(SCRIPT)
    (tmp_path / "marker.sleep").write_text(str(sleep))
    if fixed:
        (tmp_path / "marker.fixed").write_text("")
    return script


def sends(trace) -> list[list[int]]:
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    return [event["ids"] for event in events if event["event"] == "send"]


def events(trace, kind: str) -> list[dict]:
    return [e for e in map(json.loads, trace.read_text().splitlines()) if e["event"] == kind]


def failed_and_after(trace) -> tuple[int, list[int]]:
    """The task that failed, and the tasks after it in its message (from the trace)."""
    [failed] = [e["id"] for e in events(trace, "end") if not e["ok"]]
    message = next(ids for ids in sends(trace) if failed in ids)  # (its first attempt's)
    assert message[-1] != failed, f"step(0) ended its message {message}: nothing batched"
    return failed, message[message.index(failed) + 1:]


def run_af(script, *opts, executor="loky"):
    trace = script.parent / "trace.jsonl"
    run = e2e.run_autofuture(script, executor, workers=2, timeout=DEADLINE,
                             args=(str(script.parent / "marker"),),
                             extra_opts=("--trace", str(trace), *opts))
    return run, trace


def engine(name: str):
    """An executor of another engine, skipped where its package is not installed."""
    try:
        __import__(name)
    except ImportError:
        return pytest.param(name, marks=pytest.mark.skip(reason=f"{name} is not installed"))
    return name


@pytest.mark.parametrize("executor", ["loky", "thread", engine("dask"), engine("parsl")])
def test_an_error_ends_its_message_and_the_run_at_once(tmp_path, executor):
    script = write(tmp_path)
    args = (str(tmp_path / "marker"),)
    plain = e2e.run_plain(script, args, timeout=DEADLINE)
    assert plain.returncode == 1 and not (tmp_path / "marker").exists(), plain.describe()
    run, trace = run_af(script, executor=executor)
    assert not run.timed_out, f"waited for the tasks after the error: {run.describe()}"
    e2e.assert_same(plain, run)
    failed_and_after(trace)  # step(0) and step(1) were in one message
    assert not (tmp_path / "marker").exists(), "step(1) ran after step(0) failed"


def test_under_mpi_an_error_ends_its_message_and_the_run_at_once(tmp_path, mpi):
    mpirun.skip_without_mpi()
    script = write(tmp_path)
    args = (str(tmp_path / "marker"),)
    plain = e2e.run_plain(script, args, timeout=DEADLINE)
    trace = tmp_path / "trace.jsonl"
    run = mpi.run(3, script, args=args, opts=("--trace", str(trace)), timeout=DEADLINE)
    assert not run.timed_out, f"waited for the tasks after the error: {run.describe()}"
    e2e.assert_same(plain, run)
    failed_and_after(trace)
    assert not (tmp_path / "marker").exists(), "step(1) ran after step(0) failed"


def test_a_checkpoint_records_nothing_after_the_error_in_its_message(tmp_path):
    script = write(tmp_path)
    checkpoint = tmp_path / "ck"
    first, trace = run_af(script, "--checkpoint", str(checkpoint))
    assert first.returncode == 1 and "ValueError: step 0 failed" in first.stderr, \
        first.describe() + first.stderr
    failed, after = failed_and_after(trace)
    assert not (tmp_path / "marker").exists()
    # The rerun (step(0) fixed, step(1) quick) restores what the first run recorded.
    write(tmp_path, sleep=0, fixed=True)
    again, trace = run_af(script, "--checkpoint", str(checkpoint))
    assert again.returncode == 0, again.describe() + again.stderr
    assert again.stdout == "warmed up\nslept 2\n" + "".join(
        f"step {i}\n" for i in range(10))
    restored = {e["id"] for e in events(trace, "restored")}
    assert set(range(1, failed)) <= restored, "what ran before step(0) is recorded"
    assert restored.isdisjoint([failed, *after]), \
        f"recorded after the error in its message: {sorted(restored & set(after))}"
    assert (tmp_path / "marker").exists()  # the rerun did run step(1)


def test_keep_going_still_runs_the_rest_of_the_message(tmp_path):
    script = write(tmp_path, sleep=0.2)
    run, trace = run_af(script, "--keep-going")
    assert run.returncode == 1, run.describe() + run.stderr
    failed, after = failed_and_after(trace)
    assert (tmp_path / "marker").exists(), "--keep-going runs everything independent"
    assert run.stdout == "warmed up\nslept 2\n" + "".join(
        f"step {i}\n" for i in range(1, 10))
    ended = {e["id"] for e in events(trace, "end")}
    assert set(after) <= ended and "--keep-going goes on" in run.stderr


def test_a_retried_error_sends_the_rest_of_its_message_again(tmp_path):
    """step(0) fails once and is retried: the steps its message did not run go out again."""
    script = write(tmp_path, sleep=0.2)
    script.write_text(SCRIPT.replace(
        "def step(", "@autofuture.task(retries=1, retry_on=(ValueError,))\ndef step(").replace(
        "import os", "import os\n\nimport autofuture").replace(
        'raise ValueError(f"step {i} failed")',
        'open(marker + ".fixed", "w").close()\n        raise ValueError(f"step {i} failed")'))
    run, trace = run_af(script)
    assert run.returncode == 0, run.describe() + run.stderr
    failed, after = failed_and_after(trace)
    assert run.stdout == "warmed up\nslept 2\n" + "".join(f"step {i}\n" for i in range(10))
    ended = [e["id"] for e in events(trace, "end")]
    assert all(ended.count(i) == 1 for i in after) and ended.count(failed) == 2
    assert (tmp_path / "marker").exists()


def scaled(x):
    if x < 0:
        raise ValueError(x)
    return 2 * x


def test_run_batch_stops_at_the_first_failure_unless_the_run_keeps_going():
    tasks = [(0, n, serialize.call_payload((x,), {})) for n, x in enumerate([1, -1, 2, 3], 1)]
    sent = (context.Stamp().current(), [_payloads.FunctionPayloads().get(scaled)], tasks)
    stopped = runner.run_batch(sent, capture="none")
    assert [ok for ok, _, _, _ in stopped] == [True, False, False, False]
    assert stopped[1][1][1] == "ValueError"
    assert [payload for _, payload, _, _ in stopped[2:]] == [runner.NOT_RUN] * 2
    going = runner.run_batch((*sent, None, True), capture="none")
    assert [serialize.load(payload) for ok, payload, _, _ in going if ok] == [2, 4, 6]


class Lost:
    """An argument held on a worker that is gone: loading it raises HeldLost."""

    def __reduce__(self):
        return store.lookup, (12345,)


def test_a_lost_held_input_does_not_stop_the_message():
    """The workflow makes the input again and resends that task; the others are not
    waiting for it."""
    tasks = [(0, 1, serialize.dumps_split(((Lost(),), {}))),
             (0, 2, serialize.call_payload((2,), {}))]
    sent = (context.Stamp().current(), [_payloads.FunctionPayloads().get(scaled)], tasks,
            ("run", {}, 0))
    lost, done = runner.run_batch(sent, capture="none")
    assert lost[:2] == (False, (None, "<held lost>", "12345"))
    assert done[0] and serialize.load(done[1]) == 4


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
