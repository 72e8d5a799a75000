"""Tasks really run in parallel, and in dependency order, shown without timing thresholds.

tests/programs/timing/overlap.py runs four independent probes and one task
depending on two of them; each task reports its (start, end, pid, thread).
A probe waits (bounded) for a second probe to start, so any parallelism at
all makes intervals overlap, while a sequential run cannot: the plain run is
the control that shows the overlap check can fail.
"""

from __future__ import annotations

import ast
import itertools
import json

import e2e
import pytest

PROGRAM = e2e.PROGRAMS_DIR / "timing" / "overlap.py"
TIMEOUT = 60


def _records(run):
    assert run.returncode == 0 and not run.timed_out, (
        f"{run.describe()}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    )
    report = json.loads(run.stdout)
    tasks = {task["name"]: task for task in report["tasks"]}
    probes = [task for name, task in tasks.items() if name.startswith("probe")]
    return report["workflow_pid"], probes, tasks["after"]


def _overlapping_pairs(probes):
    return [
        (a["name"], b["name"])
        for a, b in itertools.combinations(probes, 2)
        if max(a["start"], b["start"]) < min(a["end"], b["end"])
    ]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One run per mode, shared by the tests of this module: {mode: Run}."""
    made = {}

    def run(mode):
        if mode not in made:
            rendezvous = tmp_path_factory.mktemp(f"rendezvous-{mode}")
            if mode == "plain":
                made[mode] = e2e.run_plain(PROGRAM, [str(rendezvous)], timeout=TIMEOUT)
            else:
                made[mode] = e2e.run_autofuture(
                    PROGRAM, mode, workers=4, args=[str(rendezvous)], timeout=TIMEOUT
                )
        return made[mode]

    return run


def test_plain_run_has_no_overlap(runs):
    """The control: a sequential run never overlaps, so the checks below can fail."""
    _, probes, after = _records(runs("plain"))
    assert _overlapping_pairs(probes) == []
    assert len(probes) == 4 and after["deps"] == ["probe0", "probe1"]


def test_loky_runs_independent_tasks_at_once_in_worker_processes(runs):
    workflow_pid, probes, _ = _records(runs("loky"))
    assert _overlapping_pairs(probes), f"no two probes overlapped: {probes}"
    pids = {probe["pid"] for probe in probes}
    assert len(pids) >= 2, f"all probes ran in one process: {pids}"
    assert workflow_pid not in pids, "a probe ran in the workflow process"


def test_thread_runs_independent_tasks_at_once_in_threads(runs):
    workflow_pid, probes, _ = _records(runs("thread"))
    assert _overlapping_pairs(probes), f"no two probes overlapped: {probes}"
    threads = {probe["thread"] for probe in probes}
    assert len(threads) >= 2, f"all probes ran in one thread: {threads}"
    assert {probe["pid"] for probe in probes} == {workflow_pid}


@pytest.mark.parametrize("mode", ["plain", "loky", "thread"])
def test_dependent_task_starts_after_its_dependencies_end(runs, mode):
    _, probes, after = _records(runs(mode))
    by_name = {probe["name"]: probe for probe in probes}
    for dep in after["deps"]:
        assert after["start"] >= by_name[dep]["end"], (
            f"'after' started at {after['start']} before {dep} ended at {by_name[dep]['end']}"
        )


# ------------------------------------------------- tasks run ahead of a pending local call

PENDING = e2e.PROGRAMS_DIR / "timing" / "pending_effect.py"


@pytest.fixture(scope="module")
def pending_runs(tmp_path_factory):
    """pending_effect.py once per mode: {mode: parsed report}."""
    made = {}

    def run(mode):
        if mode not in made:
            rendezvous = tmp_path_factory.mktemp(f"pending-{mode}")
            if mode == "plain":
                result = e2e.run_plain(PENDING, [str(rendezvous)], timeout=TIMEOUT)
            else:
                result = e2e.run_autofuture(PENDING, mode, workers=4, args=[str(rendezvous)],
                                            timeout=TIMEOUT)
            assert result.returncode == 0 and not result.timed_out, (
                f"{result.describe()}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
            made[mode] = json.loads(result.stdout)
        return made[mode]

    return run


def _started_before_the_gate_ended(report):
    end = report["gate"]["end"]
    return {task["name"]: task["start"] < end for task in report["tasks"]}


def test_plain_run_starts_nothing_before_the_gate_ends(pending_runs):
    """The control: run in order, every task starts after `gate` has sat out its wait."""
    report = pending_runs("plain")
    assert not any(_started_before_the_gate_ended(report).values())
    assert report["seen"] == ["gate"]


@pytest.mark.parametrize("mode", ["loky", "thread"])
def test_independent_tasks_run_ahead_of_a_pending_local_call(pending_runs, mode):
    """Only reads of what an effect may change wait for it: tasks given plain numbers, or
    task results no effect has been given, start while `note(gate)` is pending."""
    report = pending_runs(mode)
    started = _started_before_the_gate_ended(report)
    assert all(started.values()), f"started after the pending call's task ended: {started}"
    probes = [task for task in report["tasks"] if task["name"].startswith("probe")]
    assert _overlapping_pairs(probes), f"no two probes overlapped: {probes}"


@pytest.mark.parametrize("mode", ["plain", "loky", "thread", "serial"])
def test_a_task_reading_what_the_pending_call_changes_waits_for_it(pending_runs, mode):
    assert pending_runs(mode)["seen"] == ["gate"]


LOOP = e2e.PROGRAMS_DIR / "timing" / "loop_print.py"


@pytest.mark.parametrize("mode", ["plain", "loky", "thread"])
def test_a_loop_over_a_list_that_prints_submits_its_tasks_at_once(tmp_path, mode):
    """A pending print changes only its stream: the loop's next item is taken from the
    list without waiting for it (the plain run is the control: no overlap)."""
    if mode == "plain":
        run = e2e.run_plain(LOOP, [str(tmp_path)], timeout=TIMEOUT)
    else:
        run = e2e.run_autofuture(LOOP, mode, workers=4, args=[str(tmp_path)], timeout=TIMEOUT)
    assert run.returncode == 0 and not run.timed_out, f"{run.describe()}\n{run.stderr}"
    probes = [ast.literal_eval(line) for line in run.stdout.splitlines()]
    assert [probe["name"] for probe in probes] == [f"probe{i}" for i in range(4)]
    overlapping = _overlapping_pairs(probes)
    assert overlapping if mode != "plain" else not overlapping, probes
