"""Issue 19's and issue 16's start-up targets, this checkout against a baseline and the
peers, taking turns in one run.

    git worktree add /tmp/af-baseline main          # or any commit to compare with
    python benchmarks/locality_paired.py --baseline /tmp/af-baseline
    python benchmarks/locality_paired.py --rounds 3 --only program,onetask

Cases (each round runs every runner of every case once, the order of the
runners turned round by one each round, so that a slow minute of the machine
falls on all of them):

- ``program``: issue 19's program (``cases/af_program.py``: two chains of 8
  steps on 40 MiB arrays, two floats read), the whole process's wall time under
  plain ``python`` and under ``python -m autofuture -n 2``. Target: autofuture
  faster than plain.
- ``onetask``: a script that makes one task call and prints its result, whole
  process. Target (issue 16): at most plain + 0.1 s.
- ``arrays``: the suite's arrays row (a 10 MiB and a 100 MiB array through a
  chain of 8 tasks, ``cases/af_arrays.py``), timed inside each process after a
  warm-up, against Dask's ``LocalCluster`` (``cases/peers.py``'s
  ``dask-distributed``). Target: at most 1.0x Dask's time.

Runners: ``python`` (plain), ``autofuture`` (this checkout), ``baseline``
(``--baseline DIR``: another checkout, put first on ``PYTHONPATH`` the same
way), ``dask`` (arrays only). The table gives each runner's median, min-max
and the median of the per-round ratios with their range: on a shared machine
the spread of one runner from round to round is the noise, printed as
max/min, and the per-round ratio is the figure to trust. Every sample goes to
``benchmarks/results/locality_paired.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common

NAME = "locality_paired"
CASES = Path(__file__).resolve().parent / "cases"
ONE_TASK = """\
# autofuture
def f(x: int) -> int:
    return x + 1


print(f(1))
"""
ARRAY_MIBS = (10, 100)
STEPS = 8


def env_for(root: Path) -> dict[str, str]:
    env = _common.child_env()
    env["PYTHONPATH"] = str(root)
    return env


#: Every process runs here, not in a checkout: ``python -m`` puts its working directory
#: first on ``sys.path``, where it would shadow the runner's PYTHONPATH.
CWD = tempfile.gettempdir()


def wall(command: list[str], env: dict, timeout: float) -> tuple[float, str]:
    """Whole-process wall time of ``command``, and its stdout (checked by the caller)."""
    before = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, cwd=CWD, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    own = _children_cpu()
    _reap_orphans()
    CPU.append((own - before, _children_cpu() - before))
    if proc.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr[-2000:]}")
    return seconds, proc.stdout


#: CPU seconds of each ``wall`` process (user + system, ``RUSAGE_CHILDREN``): the process
#: and the children it waited for (its workers), then with the processes that outlived
#: it too (the resource trackers, reaped here: this process is their subreaper). On 2
#: busy cores the wall time cannot fall below half of it.
CPU: list = []


def _subreaper() -> None:
    """Orphans of the measured runs are reparented here (Linux), so that their CPU counts."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _reap_orphans(deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.005)


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_lines(command: list[str], env: dict, timeout: float) -> list[dict]:
    proc = subprocess.run(command, env=env, cwd=CWD, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if proc.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr[-2000:]}")
    return [json.loads(line[6:]) for line in proc.stderr.splitlines()
            if line.startswith("BENCH ")]


def autofuture(script: str, *args) -> list[str]:
    return [sys.executable, "-m", "autofuture", "-n", "2", script, *map(str, args)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", help="another checkout of autofuture to compare with")
    parser.add_argument("--candidate", help="the checkout measured as 'autofuture' "
                        "(default: this one; a git archive of a commit keeps edits made "
                        "during the run out of it)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed repetitions per arrays process (default 3)")
    parser.add_argument("--only", default="program,onetask,arrays")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    only = args.only.split(",")
    roots = {"autofuture": Path(args.candidate).resolve() if args.candidate
             else _common.REPO_ROOT}
    if args.baseline:
        roots["baseline"] = Path(args.baseline).resolve()
    timeout = 600.0
    _subreaper()
    samples: dict = {}  # case -> runner -> [seconds per round]
    cpu: dict = {}  # case -> runner -> [CPU seconds per round], whole-process cases
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp, "onetask.py")
        one.write_text(ONE_TASK)
        program = str(CASES / "af_program.py")
        for index in range(args.rounds):
            plan = []
            if "program" in only:
                plan.append(("program", "python", lambda: wall(
                    [sys.executable, program], _common.child_env(), timeout)))
                for runner, root in roots.items():
                    plan.append(("program", runner, lambda root=root: wall(
                        autofuture(program), env_for(root), timeout)))
            if "onetask" in only:
                plan.append(("onetask", "python", lambda: wall(
                    [sys.executable, str(one)], _common.child_env(), timeout)))
                for runner, root in roots.items():
                    plan.append(("onetask", runner, lambda root=root: wall(
                        autofuture(str(one)), env_for(root), timeout)))
            if "arrays" in only:
                for mib in ARRAY_MIBS:
                    case = f"arrays {mib} MiB"
                    for runner, root in roots.items():
                        plan.append((case, runner, lambda root=root, mib=mib: bench_lines(
                            autofuture(str(CASES / "af_arrays.py"), mib, STEPS, args.repeat),
                            env_for(root), timeout)))
                    peer = {"case": "arrays", "mib": mib, "steps": STEPS,
                            "repeat": args.repeat, "min_repeat": args.repeat, "budget": 1e9}
                    plan.append((case, "dask", lambda peer=peer: bench_lines(
                        [sys.executable, str(CASES / "peers.py"), "dask-distributed",
                         json.dumps([peer])], _common.child_env(), timeout)))
            # Turn the order round by one each round, within each case.
            by_case: dict = {}
            for item in plan:
                by_case.setdefault(item[0], []).append(item)
            for case, items in by_case.items():
                shift = index % len(items)
                for case, runner, run in items[shift:] + items[:shift]:
                    out = run()
                    if isinstance(out, tuple):
                        seconds, stdout = out
                        expected = "2\n" if case == "onetask" else "[8.0, 18.0]\n"
                        if stdout != expected:
                            raise SystemExit(f"{runner} {case} printed {stdout!r}")
                    else:  # the median of the process's timed repetitions
                        seconds = statistics.median(rec["seconds"] for rec in out)
                    samples.setdefault(case, {}).setdefault(runner, []).append(seconds)
                    if isinstance(out, tuple):
                        cpu.setdefault(case, {}).setdefault(runner, []).append(CPU[-1])
                        CPU.clear()
                    print(f"  round {index + 1}: {case:<15} {runner:<11} "
                          f"{seconds * 1e3:8.1f} ms", file=sys.stderr)
            load.append(os.getloadavg()[0])
    table = render(samples) + "\n" + "\n".join(
        f"{case:<15} {runner:<11} CPU median {_median_ms(xs, 0):7.1f} ms with its workers, "
        f"{_median_ms(xs, 1):7.1f} ms with what outlived it (RUSAGE_CHILDREN)"
        for case, runners in cpu.items() for runner, xs in runners.items())
    header = (f"locality_paired: {args.rounds} rounds, {os.cpu_count()} cores, load average "
              f"{min(load):.1f}-{max(load):.1f} during the run")
    print(header)
    print(table)
    target = _common.write_json(args.json, NAME, {
        "rounds": args.rounds, "repeat": args.repeat, "baseline": args.baseline,
        "candidate": args.candidate,
        "load_averages": load, "samples": samples, "cpu": cpu, "table": header + "\n" + table})
    print(f"wrote {target}")
    return 0


def _median_ms(pairs: list, which: int) -> float:
    return statistics.median(pair[which] for pair in pairs) * 1e3


def render(samples: dict) -> str:
    lines = [f"{'case':<15} {'runner':<11} {'median ms':>10} {'min - max':>17} "
             f"{'noise':>6}  {'vs':<7} {'ratio (per round)':>24}  target"]
    for case, runners in samples.items():
        reference = "dask" if case.startswith("arrays") else "python"
        ref = runners.get(reference)
        for runner, xs in runners.items():
            med = statistics.median(xs)
            noise = max(xs) / min(xs)
            row = (f"{case:<15} {runner:<11} {med * 1e3:10.1f} "
                   f"{min(xs) * 1e3:8.1f} - {max(xs) * 1e3:6.1f} {noise:6.2f}")
            if runner != reference and ref:
                pairs = list(zip(xs, ref, strict=True))
                if case == "onetask":
                    extra = [(a - b) * 1e3 for a, b in pairs]
                    figure = (f"+{statistics.median(extra):.0f} ms "
                              f"({min(extra):.0f}..{max(extra):.0f})")
                    target = "<= +100 ms"
                    met = statistics.median(extra) <= 100
                else:
                    ratios = [a / b for a, b in pairs]
                    figure = (f"{statistics.median(ratios):.2f}x "
                              f"({min(ratios):.2f}..{max(ratios):.2f})")
                    target = "< 1" if case == "program" else "<= 1"
                    r = statistics.median(ratios)
                    met = r < 1 if case == "program" else r <= 1
                row += f"  {reference:<7} {figure:>24}  {target} {'met' if met else 'BEHIND'}"
            lines.append(row)
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
