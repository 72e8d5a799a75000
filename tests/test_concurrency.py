"""Tasks really run in parallel, and in dependency order, shown without timing thresholds.

tests/programs/timing/overlap.py runs four independent probes and one task
depending on two of them; each task reports its (start, end, pid, thread).
A probe waits (bounded) for a second probe to start, so any parallelism at
all makes intervals overlap, while a sequential run cannot: the plain run is
the control that shows the overlap check can fail.
"""

from __future__ import annotations

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
