"""autofuture against its peers: every benchmark of issue 5, side by side, in one run.

    pip install -e '.[bench]'
    python benchmarks/suite.py            # the full run (about 15 minutes on 2 cores)
    python benchmarks/suite.py --quick    # fewer repetitions, about 3 minutes

For each benchmark, autofuture (``python -m autofuture -n 2`` running a marked
script from ``benchmarks/cases/``) and its peers (``benchmarks/cases/peers.py``:
raw loky ``submit``, ``concurrent.futures.ProcessPoolExecutor(2)``, Dask delayed
on the processes scheduler and on a 2-worker ``distributed.LocalCluster``, Parsl's
``HighThroughputExecutor`` with 2 workers) do the same work on 2 workers.
Every runner starts its pool, runs a warm-up and waits for it, then times each
repetition with ``time.perf_counter`` inside its own process, from the first
call to the last checked result; start-up is never in a figure. A wrong
result stops that runner with an error.

Benchmarks (``--only`` picks some): ``noop`` (5,000 no-op tasks: throughput),
``latency`` (one task at a time: round trip), ``dag`` (1,000 leaves summed by
a binary tree of tasks), ``cpu`` (64 tasks of ~25 ms pure Python: speedup over
serial), ``arrays`` (a 10 MiB and a 100 MiB numpy array through a chain of 8
tasks), ``fanout`` (a 10 MiB array made by a task, 8 tasks each reading it, a
binary tree of adds: against loky, ProcessPoolExecutor and Dask), ``program``
(issue 19's program, two chains of 40 MiB arrays, whole-process wall time
under ``python -m autofuture -n 2`` and plain ``python``, taking turns),
``mpi`` (the fan-out under ``mpiexec -n 3`` and an oversubscribed ``-n 16``,
with the bytes rank 0 received, counted from the run's ``--trace``),
``driver`` (100,000 local operations and no task, against plain ``python``),
``hotloop`` (a marked script's hot loop of local operations with no task call in
it, before the script's first task and after it, against plain ``python``),
``scale`` (10,000 and 100,000 no-op tasks: driver time and peak-RSS growth
per task, one fresh process per repetition).

On the cluster engines (issue 15), ``noop`` and ``dag`` also run as
``python -m autofuture -n 2 --executor dask`` (its own 2-worker TLS
``LocalCluster``) against ``client.submit`` and ``dask.delayed`` on a
2-worker ``LocalCluster``, and as ``--executor parsl`` (its own 2-worker
HTEX) against Parsl's ``python_app`` on a 2-worker HTEX: runners
``autofuture-dask`` and ``autofuture-parsl``, peers ``dask-submit``,
``dask-distributed`` and ``parsl``.

The table gives, per runner, the median, the min-max and the number of
repetitions, and a ratio in the direction of issue 5's target for that
benchmark, with the target and whether it is met. The same figures, every
sample included, with the machine, the load average and the versions, go to
``benchmarks/results/suite.json`` (``--json PATH`` to write elsewhere). Exit
status 1 if an autofuture case failed (a wrong result included).

``--profile CASE`` instead profiles autofuture alone on one benchmark, with
the full run's parameters: py-spy (``pip install py-spy``; not a project
dependency) samples the driver process and its workers while they hold the
GIL, and the top functions are printed, each sample charged to the innermost
autofuture function on its stack (so time in the standard library or loky
counts for the autofuture function that called it); ``--profile scale``
also reports the time spent in the cyclic garbage collector. ``--profile
scale-memory`` lists instead where the driver's memory per pending task goes
(tracemalloc, 10,000 tasks), by autofuture function. The raw samples are kept
in ``benchmarks/results/profile-CASE.txt``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import _common

NAME = "suite"
WORKERS = 2
CASES = Path(__file__).resolve().parent / "cases"
PEERS = CASES / "peers.py"

LABELS = {
    "autofuture": f"autofuture -n {WORKERS}",
    "autofuture-dask": f"autofuture -n {WORKERS} on dask",
    "autofuture-parsl": f"autofuture -n {WORKERS} on parsl",
    "dask-submit": "dask client.submit, LocalCluster",
    "loky": "loky submit",
    "ppe": "ProcessPoolExecutor",
    "dask-processes": "dask delayed, processes",
    "dask-distributed": "dask delayed, LocalCluster",
    "parsl": "parsl HTEX",
    "joblib": "joblib Parallel (loky)",
    "ray": "ray.remote, local",
    "serial": "serial (plain calls)",
    "python": "plain python",
}
SUBMIT_PEERS = ["loky", "ppe"]
ALL_PEERS = ["loky", "ppe", "joblib", "ray", "dask-processes", "dask-distributed", "parsl"]
#: The map row (issue 16: at least joblib's throughput) runs on the fast peers only: the
#: others would take minutes per repetition for its 50,000 tasks.
MAP_PEERS = ["loky", "ppe", "joblib"]
#: The scale rows: the peers whose driver cost per task is worth comparing.
SCALE_PEERS = ["loky", "ppe", "joblib"]
#: autofuture on a cluster engine, each run on the benchmarks below against that
#: engine's own way of submitting (issue 15).
ENGINE_RUNNERS = {"autofuture-dask": ("dask", ["dask-submit", "dask-distributed"]),
                  "autofuture-parsl": ("parsl", ["parsl"])}
ENGINE_CASES = ("noop", "dag")


# --- what each mode runs ---------------------------------------------------------------

@dataclass
class Settings:
    rounds: int            # each runner's process is started this many times, order alternating
    repeat: int            # timed repetitions per process and case
    min_repeat: int        # ... of which at least this many, however slow
    budget: float          # seconds per case and process after which a slow peer stops repeating
    scale_processes: int   # fresh processes per runner and size in the scale benchmark
    latency_round_trips: int
    timeout: float         # seconds for one runner process, start-up included


QUICK = Settings(rounds=1, repeat=3, min_repeat=1, budget=3.0, scale_processes=1,
                 latency_round_trips=100, timeout=150)
FULL = Settings(rounds=2, repeat=4, min_repeat=2, budget=40.0, scale_processes=3,
                latency_round_trips=300, timeout=900)

NOOP_TASKS = 5000
MAP_TASKS = 50_000
DAG_LEAVES = 1000
CPU_TASKS = 64
CPU_TASK_SECONDS = 0.025
ARRAY_MIBS = (10, 100)
ARRAY_STEPS = 8
FANOUT_MIB = 10
FANOUT_BRANCHES = 8
FANOUT_PEERS = ["loky", "ppe", "joblib", "ray", "dask-processes", "dask-distributed"]
MPI_RANKS = (3, 16)                 # 16 ranks on this machine's cores: oversubscribed
DRIVER_ITERATIONS = 20_000          # x 5 operations = 100,000
HOTLOOP_ITERATIONS = 20_000
SCALE_SIZES = (10_000, 100_000)


@dataclass
class Target:
    """Issue 5's target for one row: ``ratio`` (or ``value``) compared with ``bound``."""
    op: str                 # ">=" or "<="
    bound: float
    on: str = "ratio"       # "ratio" or "value"

    def met(self, x: float) -> bool:
        if self.op == "<":
            return x < self.bound
        return x >= self.bound if self.op == ">=" else x <= self.bound

    def text(self) -> str:
        return f"{ {'>=': '≥', '<=': '≤'}.get(self.op, self.op)} {self.bound:g}"


@dataclass
class Row:
    runner: str
    label: str
    unit: str
    samples: list[float] = field(default_factory=list)
    ratio: float | None = None
    target: Target | None = None
    skipped: str | None = None
    extra: dict = field(default_factory=dict)


# --- running the processes -------------------------------------------------------------

@dataclass
class Outcome:
    records: list[dict]
    error: str | None
    wall: float


def run_process(command: list[str], timeout: float) -> Outcome:
    """Run one runner process in its own session; collect its ``BENCH`` lines.

    On a time-out the whole session (the runner and its workers) is killed.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=_common.child_env(), cwd=_common.REPO_ROOT,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
        error = None
        if proc.returncode != 0:
            lines = [line for line in (stderr + stdout).splitlines()
                     if line.strip() and not line.startswith("BENCH ")]
            error = (f"exit status {proc.returncode}: "
                     + (lines[-1].strip() if lines else "no output"))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        error = f"timed out after {timeout:.0f} s"
    records = []
    for line in stderr.splitlines():
        if line.startswith("BENCH "):
            records.append(json.loads(line[len("BENCH "):]))
    if error:
        sys.stderr.write(f"  ! {' '.join(command[-3:])[:120]}: {error}\n")
    return Outcome(records, error, time.perf_counter() - start)


def autofuture_command(script: str, *args: object, executor: str | None = None) -> list[str]:
    chosen = ["--executor", executor] if executor else []
    return [sys.executable, "-m", "autofuture", "-n", str(WORKERS), *chosen,
            str(CASES / script), *map(str, args)]


def peers_command(runner: str, plan: list[dict]) -> list[str]:
    return [sys.executable, str(PEERS), runner, json.dumps(plan)]


def load_peers_module():
    spec = importlib.util.spec_from_file_location("autofuture_bench_peers", PEERS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def calibrate_cpu() -> tuple[int, int, float]:
    """ITERATIONS for one burn() of about 25 ms of CPU time here, the checksum of the
    64 tasks, and the CPU seconds one call took (best of several, in this process).

    CPU time (``time.process_time``), not wall time: on a busy machine the wall
    time of a call also counts the time it waited for a core."""
    burn = load_peers_module().burn
    probe = 200_000
    best = min(_timed(burn, 1, probe) for _ in range(5))
    iterations = max(1000, round(probe * CPU_TASK_SECONDS / best))
    checksum = sum(burn(seed, iterations) for seed in range(CPU_TASKS))
    per_call = min(_timed(burn, 1, iterations) for _ in range(3))
    return iterations, checksum, per_call


def _timed(fn, *args) -> float:
    start = time.process_time()
    fn(*args)
    return time.process_time() - start


# --- the plan ------------------------------------------------------------------------------

def build_plan(selected: list[str], runners: list[str], s: Settings, cpu: tuple[int, int]):
    """(autofuture commands by case, the per-runner peer plans, the plain-python commands)."""
    common = {"repeat": s.repeat, "min_repeat": s.min_repeat, "budget": s.budget}
    iterations, checksum = cpu
    af: dict[str, list[list[str]]] = {}
    peer: dict[str, list[dict]] = {r: [] for r in runners
                                   if r not in ("autofuture", "dask-submit", *ENGINE_RUNNERS)}
    python: list[tuple[str, list[str]]] = []  # (case, command)
    if "noop" in selected:
        af["noop"] = [autofuture_command("af_noop.py", NOOP_TASKS, s.repeat, 200)]
        for r in peer:
            peer[r].append({"case": "noop", "tasks": NOOP_TASKS, "warmup": 200, **common})
    if "map" in selected:
        af["map"] = [autofuture_command("af_noop.py", MAP_TASKS, s.repeat, 200, "map")]
        for r in peer:
            if r in MAP_PEERS:
                peer[r].append({"case": "map", "tasks": MAP_TASKS, "warmup": 200, **common})
    if "latency" in selected:
        af["latency"] = [autofuture_command("af_latency.py", s.latency_round_trips,
                                            s.repeat, 50)]
        for r in peer:
            peer[r].append({"case": "latency", "round_trips": s.latency_round_trips,
                            "warmup": 50, **common})
    if "dag" in selected:
        af["dag"] = [autofuture_command("af_dag.py", DAG_LEAVES, s.repeat)]
        for r in peer:
            peer[r].append({"case": "dag", "leaves": DAG_LEAVES, **common})
    if "cpu" in selected:
        af["cpu"] = [autofuture_command("af_cpu.py", CPU_TASKS, iterations, checksum,
                                        s.repeat)]
        for r in [*peer, "serial"]:
            peer.setdefault(r, []).append({"case": "cpu", "tasks": CPU_TASKS,
                                           "iterations": iterations, "checksum": checksum,
                                           **common})
    if "arrays" in selected:
        af["arrays"] = [autofuture_command("af_arrays.py", mib, ARRAY_STEPS, s.repeat)
                        for mib in ARRAY_MIBS]
        for r in peer:
            if r != "serial":
                for mib in ARRAY_MIBS:
                    peer[r].append({"case": "arrays", "mib": mib, "steps": ARRAY_STEPS,
                                    **common})
    if "fanout" in selected:
        af["fanout"] = [autofuture_command("af_fanout.py", FANOUT_MIB, FANOUT_BRANCHES,
                                           s.repeat)]
        for r in peer:
            if r in FANOUT_PEERS:
                peer[r].append({"case": "fanout", "mib": FANOUT_MIB,
                                "branches": FANOUT_BRANCHES, **common})
    if "driver" in selected:
        af["driver"] = [autofuture_command("af_driver.py", DRIVER_ITERATIONS, s.repeat)]
        python.append(("driver", [sys.executable, str(CASES / "af_driver.py"),
                                  str(DRIVER_ITERATIONS), str(s.repeat)]))
    if "hotloop" in selected:
        af["hotloop"] = [autofuture_command("af_hotloop.py", HOTLOOP_ITERATIONS, s.repeat)]
        python.append(("hotloop", [sys.executable, str(CASES / "af_hotloop.py"),
                                   str(HOTLOOP_ITERATIONS), str(s.repeat)]))
    return af, {r: p for r, p in peer.items() if p}, python


def engine_plan(selected: list[str], runners: list[str], s: Settings):
    """autofuture on the cluster engines: {runner: {case: [command]}}, and the plans of the
    engine-only peer (dask-submit), which the main plan does not run."""
    af: dict[str, dict[str, list[list[str]]]] = {}
    peer: dict[str, list[dict]] = {}
    common = {"repeat": s.repeat, "min_repeat": s.min_repeat, "budget": s.budget}
    for runner, (executor, peers) in ENGINE_RUNNERS.items():
        for case in ENGINE_CASES:
            if case not in selected:
                continue
            if runner in runners:
                args = ((NOOP_TASKS, s.repeat, 200) if case == "noop"
                        else (DAG_LEAVES, s.repeat))
                af.setdefault(runner, {})[case] = [
                    autofuture_command(f"af_{case}.py", *args, executor=executor)]
            for r in peers:
                if r == "dask-submit" and r in runners:
                    plan = ({"case": "noop", "tasks": NOOP_TASKS, "warmup": 200, **common}
                            if case == "noop" else {"case": "dag", "leaves": DAG_LEAVES,
                                                    **common})
                    peer.setdefault(r, []).append(plan)
    return af, peer

def program_commands(index: int) -> list[tuple[str, list[str]]]:
    """Issue 19's program under plain python and under autofuture -n 2, turn about."""
    script = str(CASES / "af_program.py")
    pair = [("python", [sys.executable, script]), ("autofuture", autofuture_command(
        "af_program.py"))]
    return pair if index % 2 == 0 else pair[::-1]


def run_mpi_latency(s: Settings) -> Outcome:
    """The single-task round trip under ``mpiexec -n 3`` (issue 16: at most 0.5 ms)."""
    import shutil

    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) \
        or shutil.which("mpiexec")
    if mpiexec is None:
        return Outcome([], "no mpiexec (pip install mpich mpi4py)", 0.0)
    command = [mpiexec, "-n", "3", sys.executable, "-m", "autofuture",
               str(CASES / "af_latency.py"), s.latency_round_trips, s.repeat, 50]
    outcome = run_process([str(part) for part in command], s.timeout)
    for record in outcome.records:
        record["case"] = "mpi-latency"
    return outcome


def run_mpi(ranks: int, s: Settings) -> Outcome:
    """The fan-out of arrays under ``mpiexec -n RANKS``, with the bytes rank 0 received
    (every reply and every fetch, from its --trace) against what the workflow read."""
    import shutil
    import tempfile

    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) \
        or shutil.which("mpiexec")
    if mpiexec is None:
        return Outcome([], "no mpiexec (pip install mpich mpi4py)", 0.0)
    with tempfile.TemporaryDirectory() as directory:
        trace = os.path.join(directory, "trace.jsonl")
        command = [mpiexec, "-n", str(ranks), sys.executable, "-m", "autofuture", "--trace",
                   trace, str(CASES / "af_fanout.py"), FANOUT_MIB, FANOUT_BRANCHES, s.repeat]
        outcome = run_process([str(part) for part in command], s.timeout)
        received = 0
        if os.path.exists(trace):
            with open(trace) as file:
                for line in file:
                    event = json.loads(line) if line.strip() else {}
                    if event.get("event") in ("end", "fetch"):
                        received += event.get("bytes", 0)
    repetitions = len(outcome.records)
    for record in outcome.records:
        record.update(case="mpi", ranks=ranks, rank0_bytes=received,
                      # each repetition and the warm-up read one array
                      read_bytes=(repetitions + 1) * FANOUT_MIB * 1024 * 1024)
    return outcome


def scale_commands(runners: list[str]) -> list[tuple[str, list[str]]]:
    commands = []
    for size in SCALE_SIZES:
        if "autofuture" in runners:
            commands.append(("autofuture", autofuture_command("af_scale.py", size, 1)))
        for r in SCALE_PEERS:
            if r in runners:
                commands.append((r, peers_command(r, [{"case": "scale", "tasks": size,
                                                       "repeat": 1}])))
    return commands


# --- the run -------------------------------------------------------------------------------

def run_all(selected: list[str], runners: list[str], s: Settings, cpu: tuple[int, int]):
    """Every process of the plan, *s.rounds* times, the runner order reversed each round.

    Returns records[case][runner] (a list of BENCH records) and errors[case][runner].
    """
    af, peer_plans, python = build_plan(selected, runners, s, cpu)
    engine_af, engine_peers = engine_plan(selected, runners, s)
    peer_plans.update(engine_peers)
    records: dict[str, dict[str, list[dict]]] = {}
    errors: dict[str, dict[str, str]] = {}
    walls: dict[str, list[float]] = {}

    def note(runner: str, outcome: Outcome, cases: list[str]) -> None:
        walls.setdefault(runner, []).append(outcome.wall)
        for rec in outcome.records:
            records.setdefault(rec["case"], {}).setdefault(runner, []).append(rec)
        if outcome.error:
            for case in cases:
                errors.setdefault(case, {})[runner] = outcome.error

    order = ["autofuture", *engine_af, *peer_plans, "python"]
    for index in range(s.rounds):
        for runner in (order if index % 2 == 0 else order[::-1]):
            if runner in engine_af:
                for case, commands in engine_af[runner].items():
                    for command in commands:
                        print(f"  round {index + 1}: {runner} {case}", file=sys.stderr)
                        note(runner, run_process(command, s.timeout), [case])
            elif runner == "autofuture" and "autofuture" in runners:
                for case, commands in af.items():
                    for command in commands:
                        print(f"  round {index + 1}: autofuture {case}", file=sys.stderr)
                        note("autofuture", run_process(command, s.timeout), [case])
            elif runner == "python":
                for case, command in python:
                    print(f"  round {index + 1}: plain python {case}", file=sys.stderr)
                    note("python", run_process(command, s.timeout), [case])
            elif runner in peer_plans:
                plan = peer_plans[runner]
                print(f"  round {index + 1}: {runner} "
                      f"({', '.join(c['case'] for c in plan)})", file=sys.stderr)
                outcome = run_process(peers_command(runner, plan), s.timeout)
                done = {rec["case"] for rec in outcome.records}
                failed = [c["case"] for c in plan if c["case"] not in done]
                note(runner, outcome, failed or [plan[-1]["case"]])
    if "program" in selected:
        for index in range(s.rounds * 2):
            for runner, command in program_commands(index):
                print(f"  program {index + 1}: {runner}", file=sys.stderr)
                outcome = run_process(command, s.timeout)
                outcome.records.append({"case": "program", "seconds": outcome.wall})
                note(runner, outcome, ["program"])
    if "mpi" in selected and "autofuture" in runners:
        for index in range(s.rounds):
            for ranks in MPI_RANKS:
                print(f"  mpi {index + 1}: mpiexec -n {ranks}", file=sys.stderr)
                note("autofuture", run_mpi(ranks, s), ["mpi"])
            print(f"  mpi {index + 1}: round trip, mpiexec -n 3", file=sys.stderr)
            note("autofuture", run_mpi_latency(s), ["mpi-latency"])
    if "scale" in selected:
        for index in range(s.scale_processes):
            for runner, command in scale_commands(runners):
                print(f"  scale {index + 1}: {runner}", file=sys.stderr)
                note(runner, run_process(command, s.timeout), ["scale"])
    return records, errors, walls


# --- the table -----------------------------------------------------------------------------

def median(xs: list[float]) -> float:
    return statistics.median(xs)


def build_rows(records, errors, runners: list[str], skip: dict[str, str]):
    """One block of rows per benchmark, in the direction of issue 5's targets."""
    blocks: list[tuple[str, str, list[Row]]] = []

    def rows_for(case: str, names: list[str], unit: str, value, keep=None) -> list[Row]:
        rows = []
        for r in names:
            row = Row(r, LABELS[r], unit)
            recs = [rec for rec in records.get(case, {}).get(r, []) if keep is None or keep(rec)]
            row.samples = [value(rec) for rec in recs]
            if not row.samples:
                row.skipped = (skip.get(r) or errors.get(case, {}).get(r)
                               or "not run")
            elif errors.get(case, {}).get(r):
                row.extra["error"] = errors[case][r]
            rows.append(row)
        return rows

    peers = [r for r in ALL_PEERS if r in runners or r in skip]
    lead = ["autofuture"] if "autofuture" in runners else []

    def af_median(rows: list[Row]) -> float | None:
        return median(rows[0].samples) if rows and rows[0].runner == "autofuture" \
            and rows[0].samples else None

    if "noop" in records or "noop" in errors:
        rows = rows_for("noop", lead + peers, "tasks/s", lambda r: r["tasks"] / r["seconds"])
        a = af_median(rows)
        for row in rows[1:]:
            if a and row.samples:
                row.ratio = a / median(row.samples)
            row.target = Target(">=", 3.0) if row.runner == "loky" else None
        add_best_peer(rows, higher_is_better=True, af_over_peer=True)
        blocks.append((f"no-op throughput, {NOOP_TASKS:,} tasks",
                       "ratio = autofuture's throughput / the runner's (above 1: autofuture "
                       "ahead)", rows))
    if "map" in records or "map" in errors:
        rows = rows_for("map", lead + [p for p in peers if p in MAP_PEERS], "tasks/s",
                        lambda r: r["tasks"] / r["seconds"])
        a = af_median(rows)
        for row in rows[1:]:
            if a and row.samples:
                row.ratio = a / median(row.samples)
            row.target = Target(">=", 1.0) if row.runner == "joblib" else None
        add_best_peer(rows, higher_is_better=True, af_over_peer=True)
        blocks.append((f"map: [noop(i) for i in range({MAP_TASKS:,})], then the sum",
                       "ratio = autofuture's throughput / the runner's (above 1: autofuture "
                       "ahead); joblib: one Parallel call, automatic batching", rows))
    if "latency" in records or "latency" in errors:
        rows = rows_for("latency", lead + peers, "µs", lambda r: r["seconds"] * 1e6)
        a = af_median(rows)
        for row in rows[1:]:
            if a and row.samples:
                row.ratio = a / median(row.samples)
            row.target = {"loky": Target("<=", 1.2),
                          "ppe": Target("<=", 1.0)}.get(row.runner)
        add_best_peer(rows, higher_is_better=False, af_over_peer=True)
        blocks.append(("single-task round trip",
                       "ratio = autofuture's round trip / the runner's (below 1: autofuture "
                       "ahead)", rows))
    if "dag" in records or "dag" in errors:
        rows = rows_for("dag", lead + peers, "ms", lambda r: r["seconds"] * 1e3)
        a = af_median(rows)
        for row in rows[1:]:
            if a and row.samples:
                row.ratio = median(row.samples) / a
            row.target = {"loky": Target(">=", 1.0), "dask-processes": Target(">=", 1.3),
                          "dask-distributed": Target(">=", 1.3)}.get(row.runner)
        add_best_peer(rows, higher_is_better=False, af_over_peer=False)
        blocks.append((f"fan-out/fan-in DAG, {DAG_LEAVES:,} leaves + binary-tree sum",
                       "ratio = the runner's time / autofuture's (above 1: autofuture "
                       "ahead); loky and ProcessPoolExecutor chain with add_done_callback",
                       rows))
    if "cpu" in records or "cpu" in errors:
        rows = rows_for("cpu", lead + peers + ["serial"], "ms", lambda r: r["seconds"] * 1e3)
        serial = rows[-1]
        if serial.samples:
            for row in rows[:-1]:
                if row.samples:
                    row.ratio = median(serial.samples) / median(row.samples)
        if rows[0].runner == "autofuture":
            rows[0].target = Target(">=", 1.95)
        add_best_peer(rows[:-1], higher_is_better=False, af_over_peer=False, into=rows)
        blocks.append((f"CPU-bound, {CPU_TASKS} tasks of ~{CPU_TASK_SECONDS * 1e3:.0f} ms "
                       "pure Python",
                       "ratio = speedup: serial time / the runner's time (2 workers: "
                       "2.0 at best)", rows))
    for mib in ARRAY_MIBS if ("arrays" in records or "arrays" in errors) else ():
        rows = rows_for("arrays", lead + peers, "ms", lambda r: r["seconds"] * 1e3,
                        keep=lambda rec, mib=mib: rec.get("mib") == mib)
        a = af_median(rows)
        for row in rows[1:]:
            if a and row.samples:
                row.ratio = a / median(row.samples)
            row.target = {"loky": Target("<=", 1.2),
                          "dask-distributed": Target("<=", 1.0)}.get(row.runner)
        add_best_peer(rows, higher_is_better=False, af_over_peer=True)
        blocks.append((f"{mib} MiB numpy array through a chain of {ARRAY_STEPS} tasks",
                       "ratio = autofuture's time / the runner's (below 1: autofuture "
                       "ahead)", rows))
    if "fanout" in records or "fanout" in errors:
        rows = rows_for("fanout", lead + [p for p in peers if p in FANOUT_PEERS], "ms",
                        lambda r: r["seconds"] * 1e3)
        a = af_median(rows)
        for row in rows[1:]:
            if a and row.samples:
                row.ratio = a / median(row.samples)
            row.target = Target("<=", 1.0) if row.runner == "dask-distributed" else None
        add_best_peer(rows, higher_is_better=False, af_over_peer=True)
        blocks.append((f"fan-out/fan-in of {FANOUT_MIB} MiB arrays: 1 make, "
                       f"{FANOUT_BRANCHES} branches, a binary tree of adds",
                       "ratio = autofuture's time / the runner's (below 1: autofuture "
                       "ahead)", rows))
    if "program" in records or "program" in errors:
        rows = rows_for("program", lead + ["python"], "ms", lambda r: r["seconds"] * 1e3)
        if len(rows) == 2 and rows[0].samples and rows[1].samples:
            rows[1].ratio = median(rows[0].samples) / median(rows[1].samples)
            rows[1].target = Target("<", 1.0)
        blocks.append(("issue 19's program (two chains of 40 MiB arrays), whole process",
                       "ratio = wall time under python -m autofuture -n 2 / under plain "
                       "python, start-up included", rows))
    if "mpi" in records or "mpi" in errors:
        rows = []
        for ranks in MPI_RANKS:
            recs = [r for r in records.get("mpi", {}).get("autofuture", [])
                    if r["ranks"] == ranks]
            got = max((r["rank0_bytes"] for r in recs), default=0) / 2**20
            read = max((r["read_bytes"] for r in recs), default=0) / 2**20
            row = Row("autofuture", f"mpiexec -n {ranks}: rank 0 got {got:.0f} of "
                      f"{read:.0f} MiB read", "ms", [r["seconds"] * 1e3 for r in recs])
            if not row.samples:
                row.skipped = errors.get("mpi", {}).get("autofuture") or "not run"
            rows.append(row)
        latency = Row("autofuture", "mpiexec -n 3: single-task round trip", "µs",
                      [r["seconds"] * 1e6 for r in records.get("mpi-latency", {}).get(
                          "autofuture", [])], target=Target("<=", 500, on="value"))
        if not latency.samples:
            latency.skipped = errors.get("mpi-latency", {}).get("autofuture") or "not run"
        blocks.append(("MPI: single-task round trip (af_latency.py under mpiexec -n 3)",
                       "target on the value: at most 500 µs (issue 16), no rank spinning a "
                       "core", [latency]))
        blocks.append((f"MPI: the fan-out of {FANOUT_MIB} MiB arrays, time and bytes rank 0 "
                       "received",
                       "rank 0 got: every task reply and fetch (its --trace), against the "
                       "arrays the workflow read", rows))
    if "driver" in records or "driver" in errors:
        rows = rows_for("driver", lead + ["python"], "ms", lambda r: r["seconds"] * 1e3)
        if len(rows) == 2 and rows[0].samples and rows[1].samples:
            rows[1].ratio = median(rows[0].samples) / median(rows[1].samples)
            rows[1].target = Target("<=", 2.0)
        blocks.append((f"futurized driver, {5 * DRIVER_ITERATIONS:,} local operations, "
                       "no task",
                       "ratio = time under python -m autofuture / time under plain python "
                       "(the same file)", rows))
    for case, when in (("hotloop-before", "before the script's first task"),
                       ("hotloop-after", "after its first task")):
        if case not in records and "hotloop" not in errors:
            continue
        rows = rows_for(case, lead + ["python"], "ms", lambda r: r["seconds"] * 1e3)
        for row in rows:
            if not row.samples and row.skipped == "not run":
                row.skipped = errors.get("hotloop", {}).get(row.runner) or "not run"
        if len(rows) == 2 and rows[0].samples and rows[1].samples:
            rows[1].ratio = median(rows[0].samples) / median(rows[1].samples)
            rows[1].target = Target("<=", 1.2)
        blocks.append((f"a hot loop with no task call, {HOTLOOP_ITERATIONS:,} iterations, "
                       f"{when}",
                       "ratio = time under python -m autofuture / time under plain python "
                       "(the same file)", rows))
    if "scale" in records or "scale" in errors:
        names = lead + [r for r in SCALE_PEERS if r in runners]
        time_rows: list[Row] = []
        mem_rows: list[Row] = []
        for r in names:
            recs = records.get("scale", {}).get(r, [])
            per_size = {n: [rec for rec in recs if rec["tasks"] == n] for n in SCALE_SIZES}
            base = None
            for n in SCALE_SIZES:
                t = Row(r, f"{LABELS[r]}, {n:,}", "µs/task",
                        [rec["seconds"] / n * 1e6 for rec in per_size[n]])
                m = Row(r, f"{LABELS[r]}, {n:,}", "B/task",
                        [(rec["maxrss_kib_after"] - rec["maxrss_kib_before"]) * 1024 / n
                         for rec in per_size[n]])
                for row in (t, m):
                    if not row.samples:
                        row.skipped = errors.get("scale", {}).get(r) or "not run"
                if t.samples:
                    if base is None:
                        base = median(t.samples)
                    else:
                        t.ratio = median(t.samples) / base
                        if r == "autofuture":
                            t.target = Target("<=", 1.25)
                if r == "autofuture" and m.samples:
                    m.target = Target("<=", 1024, on="value")
                time_rows.append(t)
                mem_rows.append(m)
        for r in ("ray", "dask-processes", "dask-distributed", "parsl"):
            if r in runners:
                reason = ("not run: the scale rows measure the driver's own cost per task "
                          "against the raw executors")
                time_rows.append(Row(r, LABELS[r], "µs/task", skipped=reason))
        blocks.append((f"scale: driver time, {' and '.join(f'{n:,}' for n in SCALE_SIZES)} "
                       "no-op tasks",
                       "ratio = µs/task at this size / µs/task at the smallest (1.0: "
                       "linear)", time_rows))
        blocks.append(("scale: driver peak-RSS growth per task",
                       "(ru_maxrss after the tasks - after the warm-up) / tasks; target on "
                       "the value", mem_rows))
    # The cluster engines' rows (issue 15) are blocks of their own, after the others.
    return blocks + engine_rows(records, errors, runners, skip)


def add_best_peer(rows: list[Row], higher_is_better: bool, af_over_peer: bool,
                  into: list[Row] | None = None) -> None:
    """Append a row for the block's best peer (by median), with autofuture's ratio to it
    in the block's own direction and issue 16's target: ahead of it, ratio 1.0."""
    if not rows or rows[0].runner != "autofuture" or not rows[0].samples:
        return
    peers = [row for row in rows[1:] if row.samples and row.runner in ALL_PEERS]
    if not peers:
        return
    best = (max if higher_is_better else min)(peers, key=lambda row: median(row.samples))
    a, b = median(rows[0].samples), median(best.samples)
    ahead = ">=" if higher_is_better == af_over_peer else "<="
    (rows if into is None else into).append(
        Row("best", f"= best peer: {best.label}", best.unit, list(best.samples),
            ratio=a / b if af_over_peer else b / a, target=Target(ahead, 1.0)))


def engine_rows(records, errors, runners, skip) -> list:
    """autofuture on Dask and on Parsl against the engine's own submission (issue 15's
    targets: at least 5x its no-op throughput, at least 2x faster on the DAG)."""

    def rows_for(case: str, names: list[str], unit: str, value) -> list[Row]:
        rows = []
        for r in names:
            row = Row(r, LABELS[r], unit)
            row.samples = [value(rec) for rec in records.get(case, {}).get(r, [])]
            if not row.samples:
                row.skipped = skip.get(r) or errors.get(case, {}).get(r) or "not run"
            rows.append(row)
        return rows

    blocks = []
    for runner, (engine, peers) in ENGINE_RUNNERS.items():
        if runner not in runners and runner not in skip:
            continue
        names = [runner] + [p for p in peers if p in runners or p in skip]
        if "noop" in records or "noop" in errors:
            rows = rows_for("noop", names, "tasks/s", lambda r: r["tasks"] / r["seconds"])
            a = median(rows[0].samples) if rows[0].samples else None
            for row in rows[1:]:
                if a and row.samples:
                    row.ratio = a / median(row.samples)
                row.target = Target(">=", 5.0)
            blocks.append((f"on {engine}: no-op throughput, {NOOP_TASKS:,} tasks",
                           f"ratio = autofuture's throughput on {engine} / the runner's, on "
                           "the same kind of 2-worker cluster", rows))
        if "dag" in records or "dag" in errors:
            rows = rows_for("dag", names, "ms", lambda r: r["seconds"] * 1e3)
            a = median(rows[0].samples) if rows[0].samples else None
            for row in rows[1:]:
                if a and row.samples:
                    row.ratio = median(row.samples) / a
                row.target = Target(">=", 2.0)
            blocks.append((f"on {engine}: DAG, {DAG_LEAVES:,} leaves + binary-tree sum",
                           f"ratio = the runner's time / autofuture's on {engine} (above 1: "
                           "autofuture ahead)", rows))
    return blocks


def fmt(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def render(blocks) -> tuple[str, list[dict]]:
    lines = []
    summary = []
    head = (f"{'runner':<38} {'median':>10} {'min – max':>21} {'n':>3}  "
            f"{'ratio':>6}  {'target':>8}  status")
    for title, legend, rows in blocks:
        unit = next((row.unit for row in rows), "")
        lines.append(f"{title} [{unit}]")
        lines.append(f"  {legend}")
        lines.append(head)
        for row in rows:
            entry = {"benchmark": title, "runner": row.runner, "label": row.label,
                     "unit": row.unit}
            if row.skipped:
                lines.append(f"{row.label:<38} {'–':>10} {'':>21} {0:>3}  "
                             f"{'':>6}  {'':>8}  skipped: {row.skipped}")
                entry["skipped"] = row.skipped
                summary.append(entry)
                continue
            med = median(row.samples)
            spread = f"{fmt(min(row.samples))} – {fmt(max(row.samples))}"
            ratio = f"{row.ratio:.2f}" if row.ratio is not None else ""
            status = ""
            if row.target:
                x = row.ratio if row.target.on == "ratio" else med
                if x is not None:
                    status = "met" if row.target.met(x) else "BEHIND"
            if row.extra.get("error"):
                status = (status + " " if status else "") + f"(then: {row.extra['error']})"
            lines.append(f"{row.label:<38} {fmt(med):>10} {spread:>21} "
                         f"{len(row.samples):>3}  {ratio:>6}  "
                         f"{row.target.text() if row.target else '':>8}  {status}".rstrip())
            entry.update(_common.summary(row.samples))
            entry.update({"ratio": row.ratio,
                          "target": row.target.text() if row.target else None,
                          "target_on": row.target.on if row.target else None,
                          "status": status or None})
            summary.append(entry)
        lines.append("")
    return "\n".join(lines), summary


def versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("autofuture", "loky", "cloudpickle", "dill", "numpy", "dask", "distributed",
                 "parsl", "joblib", "ray"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def missing_peers(runners: list[str]) -> dict[str, str]:
    """Runners whose package is not installed, with the reason shown in the table."""
    needs = {"dask-processes": "dask", "dask-distributed": "distributed", "parsl": "parsl",
             "dask-submit": "distributed", "autofuture-dask": "distributed",
             "autofuture-parsl": "parsl", "joblib": "joblib", "ray": "ray"}
    skip = {}
    for r, module in needs.items():
        if r in runners and importlib.util.find_spec(module) is None:
            skip[r] = f"{module} is not installed (pip install -e '.[bench]')"
    return skip


# --- profiling ------------------------------------------------------------------------------

def profile_command(case: str, s: Settings) -> list[str]:
    """The autofuture command of *case* with the full run's parameters."""
    if case == "cpu":
        iterations, checksum, _ = calibrate_cpu()
        return autofuture_command("af_cpu.py", CPU_TASKS, iterations, checksum, s.repeat)
    if case == "scale":
        return autofuture_command("af_scale.py", SCALE_SIZES[-1], 1)
    af, _, _ = build_plan([case], ["autofuture"], s, (0, 0))
    return af[case][0]


def _frame(text: str) -> tuple[str, str]:
    """('autofuture/runtime/abi.py', 'call') from py-spy's
    'call (autofuture/runtime/abi.py:173)'."""
    name, _, where = text.rpartition(" (")
    return where.rsplit(":", 1)[0], name


def summarize_pyspy(path: Path, top: int = 10) -> str:
    """The innermost autofuture function of each sample, per process kind, in % of samples."""
    import collections

    counts = {"driver": collections.Counter(), "workers": collections.Counter()}
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        frames = stack.split(";")
        kind = "workers" if sum(f.startswith("process ") for f in frames) > 1 else "driver"
        frames = [_frame(f) for f in frames if not f.startswith(("process ", "thread "))]
        if not frames or any("importlib" in file for file, _ in frames):
            continue  # start-up
        inner = next((f"{file}:{name}" for file, name in reversed(frames)
                      if file.startswith("autofuture/")), None)
        if inner is None:
            inner = "(no autofuture frame) " + next(
                (f"{file}:{name}" for file, name in reversed(frames)
                 if "loky" in file or "multiprocessing" in file or "concurrent" in file),
                "{}:{}".format(*frames[-1]))
        counts[kind][inner] += int(n)
    out = []
    for kind, counter in counts.items():
        total = sum(counter.values())
        if not total:
            continue
        out.append(f"{kind}: {total} samples holding the GIL")
        for name, n in counter.most_common(top):
            out.append(f"  {100 * n / total:5.1f}%  {name}")
    return "\n".join(out)


def enclosing_function(filename: str, lineno: int, cache: dict = {}) -> str:  # noqa: B006
    """'file.py:function' for a line, by the innermost def around it."""
    import ast

    if filename not in cache:
        try:
            tree = ast.parse(Path(filename).read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            tree = None
        spans = []
        if tree is not None:
            stack = [(tree, "")]
            while stack:
                node, prefix = stack.pop()
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                          ast.ClassDef)):
                        name = f"{prefix}{child.name}"
                        if not isinstance(child, ast.ClassDef):
                            spans.append((child.lineno, child.end_lineno, name))
                        stack.append((child, name + "."))
                    else:
                        stack.append((child, prefix))
        cache[filename] = spans
    inside = [(hi - lo, name) for lo, hi, name in cache[filename] if lo <= lineno <= hi]
    short = "/".join(Path(filename).parts[-2:])
    return f"{short}:{min(inside)[1] if inside else '<module>'}"


def profile(case: str, s: Settings) -> int:
    import collections
    import shutil

    target = _common.RESULTS_DIR / f"profile-{case}.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    if case == "scale-memory":
        proc = subprocess.run(autofuture_command("af_scale_memory.py", SCALE_SIZES[0]),
                              env=_common.child_env(), cwd=_common.REPO_ROOT,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)
        lines = [line for line in proc.stderr.splitlines() if line.startswith("MEMORY ")]
        if proc.returncode or not lines:
            sys.stderr.write(proc.stderr)
            return 1
        sites = json.loads(lines[-1][len("MEMORY "):])
        target.write_text(json.dumps(sites, indent=1) + "\n", encoding="utf-8")
        by_function = collections.Counter()
        for filename, lineno, size, _count in sites:
            by_function[enclosing_function(filename, lineno)] += size
        total = sum(by_function.values())
        print(f"driver memory growth with {SCALE_SIZES[0]:,} tasks made: "
              f"{total:,.0f} B/task, by the function that allocated it:")
        for name, size in by_function.most_common(10):
            print(f"  {size:7,.0f} B/task  {name}")
        print(f"wrote {target}")
        return 0
    if shutil.which("py-spy") is None:
        print("--profile needs py-spy: pip install py-spy", file=sys.stderr)
        return 1
    command = ["py-spy", "record", "--gil", "--subprocesses", "--format", "raw",
               "--rate", "500", "--output", str(target), "--", *profile_command(case, s)]
    print(" ".join(command), file=sys.stderr)
    proc = subprocess.run(command, env=_common.child_env(), cwd=_common.REPO_ROOT,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode:
        sys.stderr.write(proc.stdout + proc.stderr)
        return 1
    for line in proc.stderr.splitlines():
        if line.startswith("BENCH "):
            print(line)
    print(summarize_pyspy(target))
    if case == "scale":
        print("time in Python's cyclic garbage collector (gc.callbacks), without py-spy:")
        for n in SCALE_SIZES:
            outcome = run_process(autofuture_command("af_scale.py", n, 1, "gc"), s.timeout)
            for rec in outcome.records:
                print(f"  {n:>7,} tasks: {rec['seconds'] / n * 1e6:6.1f} µs/task, of which "
                      f"{rec['gc_seconds'] / n * 1e6:5.1f} in {rec['gc_collections']} "
                      "collections")
    print(f"wrote {target}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="one round, fewer repetitions (about 3 minutes)")
    parser.add_argument("--only",
                        default="noop,map,latency,dag,cpu,arrays,fanout,program,mpi,driver,"
                        "hotloop,scale",
                        help="comma-separated benchmarks (default: all)")
    parser.add_argument("--runners", default=",".join(["autofuture", *ALL_PEERS,
                                                       *ENGINE_RUNNERS, "dask-submit"]),
                        help="comma-separated runners (default: autofuture and all peers)")
    parser.add_argument("--json", help=f"result file (default benchmarks/results/{NAME}.json)")
    parser.add_argument("--profile", metavar="CASE",
                        choices=["noop", "map", "latency", "dag", "cpu", "arrays", "fanout",
                                 "driver", "scale", "scale-memory"],
                        help="profile autofuture on one benchmark instead (needs py-spy)")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    if args.profile:
        return profile(args.profile, settings)
    selected = [b.strip() for b in args.only.split(",") if b.strip()]
    runners = [r.strip() for r in args.runners.split(",") if r.strip()]
    unknown = [r for r in runners if r not in LABELS] + [
        b for b in selected
        if b not in ("noop", "map", "latency", "dag", "cpu", "arrays", "fanout", "program",
                     "mpi", "driver", "hotloop", "scale")]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}")
    skip = missing_peers(runners)
    runners = [r for r in runners if r not in skip]

    started = time.perf_counter()
    load_before = os.getloadavg()
    cpu = (0, 0, 0.0)
    if "cpu" in selected:
        cpu = calibrate_cpu()
        print(f"  cpu: {cpu[0]:,} iterations per task, {cpu[2] * 1e3:.1f} ms of CPU here",
              file=sys.stderr)
    records, errors, walls = run_all(selected, runners, settings, cpu[:2])
    blocks = build_rows(records, errors, runners, skip)
    table, summary = render(blocks)
    elapsed = time.perf_counter() - started

    header = (f"autofuture benchmark suite ({'quick' if args.quick else 'full'}): "
              f"{WORKERS} workers, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
              f"load average {load_before[0]:.1f} at the start, "
              f"{os.getloadavg()[0]:.1f} at the end; medians")
    print(header)
    print()
    print(table.rstrip())
    print()
    print(f"{elapsed:.0f} s in all")

    target = _common.write_json(args.json, NAME, {
        "mode": "quick" if args.quick else "full",
        "settings": settings.__dict__,
        "workers": WORKERS,
        "versions": versions(),
        "load_average_before": load_before,
        "cpu_calibration": {"iterations": cpu[0], "checksum": cpu[1],
                            "seconds_per_call": cpu[2]},
        "seconds": elapsed,
        "rows": summary,
        "records": records,
        "errors": errors,
        "process_wall_seconds": {r: _common.summary(w) for r, w in walls.items()},
        "table": header + "\n\n" + table.rstrip() + "\n",
    })
    print(f"wrote {target}")
    failed_af = {case: errs["autofuture"] for case, errs in errors.items()
                 if "autofuture" in errs}
    for case, error in failed_af.items():
        print(f"autofuture failed on {case}: {error}", file=sys.stderr)
    return 1 if failed_af else 0


if __name__ == "__main__":
    raise SystemExit(main())
