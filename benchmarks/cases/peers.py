"""The peers' side of benchmarks/suite.py: the same work as the af_*.py cases,
through the tools a user would pick instead of autofuture.

    python benchmarks/cases/peers.py RUNNER PLAN_JSON

RUNNER is one of

* ``serial``            -- plain calls in this process (the CPU-bound baseline);
* ``loky``              -- ``loky.get_reusable_executor(max_workers=2).submit``;
* ``ppe``               -- ``concurrent.futures.ProcessPoolExecutor(2).submit``;
* ``dask-processes``    -- ``dask.delayed`` graphs computed with the processes
                           scheduler on a warm pool of 2 worker processes;
* ``dask-distributed``  -- ``dask.delayed`` graphs computed on a
                           ``distributed.LocalCluster(n_workers=2,
                           threads_per_worker=1, processes=True)``;
* ``dask-submit``       -- ``client.submit`` per task (futures as the arguments
                           of dependent tasks) on the same kind of ``LocalCluster``;
* ``parsl``             -- ``@python_app`` on a local ``HighThroughputExecutor``
                           with 2 workers;
* ``joblib``, ``ray``   -- ``joblib.Parallel(n_jobs=2)`` and ``@ray.remote`` on a
                           local ``ray.init(num_cpus=2)``: see peers_joblib_ray.py.

PLAN_JSON is a JSON list of cases, each ``{"case": NAME, ...parameters}``.
The pool or cluster is started once; each case then runs its own warm-up and
its ``repeat`` timed repetitions (``time.perf_counter`` around the measured
section, which ends when every result is back and checked), printing one
``BENCH {json}`` line per repetition on stderr.

The task functions live in this script's ``__main__``, as they would in a
user's script: loky, Dask and Parsl send them by value, and
``ProcessPoolExecutor`` (fork start method) finds them by reference.
"""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import threading
import time

WORKERS = 2


# --- the work: identical to the af_*.py cases --------------------------------------------

def noop(i: int) -> int:
    return i


def leaf(i: int) -> int:
    return i * i


def add(a: int, b: int) -> int:
    return a + b


def burn(seed: int, iterations: int) -> int:
    """A linear congruential walk: pure-Python integer work, no allocation to speak of."""
    x = seed
    for _ in range(iterations):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x


def step(a):
    return a + 1.0


def make(length):
    import numpy as np

    return np.zeros(length)


def shift(a, i):
    return a + float(i)


def fan_check(final, length: int, branches: int) -> None:
    expected = branches * (branches - 1) / 2
    if final.shape != (length,) or final.min() != expected or final.max() != expected:
        raise SystemExit("the fan returned a wrong array")


def dag_expected(leaves: int) -> int:
    return (leaves - 1) * leaves * (2 * leaves - 1) // 6


def repetitions(repeat: int, min_repeat: int = 1, budget: float = float("inf"), **_: object):
    """range(repeat), cut short once *budget* seconds have gone by and at least
    *min_repeat* repetitions are done (the slow peers would take minutes otherwise)."""
    start = time.perf_counter()
    for index in range(repeat):
        if index >= min_repeat and time.perf_counter() - start >= budget:
            return
        yield index


def report(case: str, **figures: object) -> None:
    print("BENCH " + json.dumps({"case": case, **figures}), file=sys.stderr, flush=True)


def maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# --- executors with submit(): loky and ProcessPoolExecutor -----------------------------

def _chain_into(source: concurrent.futures.Future, target: concurrent.futures.Future) -> None:
    exc = source.exception()
    if exc is not None:
        target.set_exception(exc)
    else:
        target.set_result(source.result())


def dag_with_callbacks(executor, lo: int, hi: int) -> concurrent.futures.Future:
    """The tree sum of leaf(lo..hi-1), each add submitted by a done-callback
    once both of its inputs are done (hand-written dependency tracking)."""
    if hi - lo == 1:
        return executor.submit(leaf, lo)
    mid = (lo + hi) // 2
    left = dag_with_callbacks(executor, lo, mid)
    right = dag_with_callbacks(executor, mid, hi)
    out: concurrent.futures.Future = concurrent.futures.Future()
    lock = threading.Lock()
    pending = [2]

    def one_done(_: concurrent.futures.Future) -> None:
        with lock:
            pending[0] -= 1
            if pending[0]:
                return
        if left.exception() is not None or right.exception() is not None:
            out.set_exception(left.exception() or right.exception())
            return
        inner = executor.submit(add, left.result(), right.result())
        inner.add_done_callback(lambda f: _chain_into(f, out))

    left.add_done_callback(one_done)
    right.add_done_callback(one_done)
    return out


class SubmitRunner:
    def __init__(self, executor) -> None:
        self.executor = executor

    def noop(self, tasks: int, repeat: int, warmup: int, **opts: float) -> None:
        ex = self.executor
        warm = [ex.submit(noop, i) for i in range(warmup)]
        if sum(f.result() for f in warm) != warmup * (warmup - 1) // 2:
            raise SystemExit("the warm-up batch returned wrong results")
        for _ in repetitions(repeat, **opts):
            start = time.perf_counter()
            futures = [ex.submit(noop, i) for i in range(tasks)]
            total = sum(f.result() for f in futures)
            elapsed = time.perf_counter() - start
            if total != tasks * (tasks - 1) // 2:
                raise SystemExit("the timed batch returned wrong results")
            report(opts.get("case", "noop"), tasks=tasks, seconds=elapsed)

    map = noop  # the map row: the same, with more tasks

    def latency(self, round_trips: int, repeat: int, warmup: int, **opts: float) -> None:
        ex = self.executor
        warm = [ex.submit(noop, i) for i in range(warmup)]
        if sum(f.result() for f in warm) != warmup * (warmup - 1) // 2:
            raise SystemExit("the warm-up batch returned wrong results")
        for _ in repetitions(repeat, **opts):
            start = time.perf_counter()
            for i in range(round_trips):
                if ex.submit(noop, i).result() != i:
                    raise SystemExit(f"round trip {i} returned a wrong result")
            elapsed = time.perf_counter() - start
            report("latency", round_trips=round_trips, seconds=elapsed / round_trips)

    def dag(self, leaves: int, repeat: int, **opts: float) -> None:
        if dag_with_callbacks(self.executor, 0, 64).result() != dag_expected(64):
            raise SystemExit("the warm-up tree returned a wrong total")
        for _ in repetitions(repeat, **opts):
            start = time.perf_counter()
            total = dag_with_callbacks(self.executor, 0, leaves).result()
            elapsed = time.perf_counter() - start
            if total != dag_expected(leaves):
                raise SystemExit(f"the tree returned a wrong total: {total!r}")
            report("dag", leaves=leaves, seconds=elapsed)

    def cpu(self, tasks: int, iterations: int, checksum: int, repeat: int, **opts: float) -> None:
        ex = self.executor
        warm = [ex.submit(burn, seed, iterations) for seed in range(2)]
        if len([f.result() for f in warm]) != 2:
            raise SystemExit("the warm-up tasks returned wrong results")
        for _ in repetitions(repeat, **opts):
            start = time.perf_counter()
            futures = [ex.submit(burn, seed, iterations) for seed in range(tasks)]
            total = sum(f.result() for f in futures)
            elapsed = time.perf_counter() - start
            if total != checksum:
                raise SystemExit(f"checksum {total} != {checksum}")
            report("cpu", tasks=tasks, seconds=elapsed)

    def arrays(self, mib: int, steps: int, repeat: int, **opts: float) -> None:
        import numpy as np

        length = mib * 1024 * 1024 // 8
        ex = self.executor
        warm = ex.submit(step, ex.submit(step, np.zeros(length)).result()).result()
        if warm.shape != (length,) or warm[0] != 2.0 or warm[-1] != 2.0:
            raise SystemExit("the warm-up chain returned a wrong array")
        for _ in repetitions(repeat, **opts):
            array = np.zeros(length)
            start = time.perf_counter()
            for _ in range(steps):
                array = ex.submit(step, array).result()
            elapsed = time.perf_counter() - start
            if array.shape != (length,) or array.min() != steps or array.max() != steps:
                raise SystemExit("the chain returned a wrong array")
            report("arrays", mib=mib, steps=steps, seconds=elapsed)

    def fanout(self, mib: int, branches: int, repeat: int, **opts: float) -> None:
        """Every array goes through the driver: the executor keeps nothing on its workers."""
        length = mib * 1024 * 1024 // 8
        ex = self.executor

        def fan(count):
            root = ex.submit(make, length).result()
            level = [f.result() for f in [ex.submit(shift, root, i) for i in range(count)]]
            while len(level) > 1:
                pairs = [ex.submit(add, level[i], level[i + 1]) if i + 1 < len(level) else None
                         for i in range(0, len(level), 2)]
                level = [f.result() if f is not None else level[-1] for f in pairs]
            return level[0]

        fan_check(fan(2), length, 2)
        for _ in repetitions(repeat, **opts):
            start = time.perf_counter()
            final = fan(branches)
            elapsed = time.perf_counter() - start
            fan_check(final, length, branches)
            report("fanout", mib=mib, branches=branches, seconds=elapsed)

    def scale(self, tasks: int, repeat: int, **opts: float) -> None:
        ex = self.executor
        warm = [ex.submit(noop, i) for i in range(200)]
        if sum(f.result() for f in warm) != 199 * 200 // 2:
            raise SystemExit("the warm-up batch returned wrong results")
        before = maxrss_kib()
        for _ in repetitions(repeat, **opts):
            start = time.perf_counter()
            futures = [ex.submit(noop, i) for i in range(tasks)]
            total = sum(f.result() for f in futures)
            elapsed = time.perf_counter() - start
            if total != tasks * (tasks - 1) // 2:
                raise SystemExit("the timed batch returned wrong results")
            report("scale", tasks=tasks, seconds=elapsed, maxrss_kib_before=before,
                   maxrss_kib_after=maxrss_kib())
            del futures

    def close(self) -> None:
        self.executor.shutdown(wait=True)


class SerialRunner:
    """Plain calls, one after the other: the baseline the CPU-bound speedup is taken over."""

    def cpu(self, tasks: int, iterations: int, checksum: int, repeat: int, **opts: float) -> None:
        burn(0, iterations)
        for _ in repetitions(repeat, **opts):
            start = time.perf_counter()
            total = sum(burn(seed, iterations) for seed in range(tasks))
            elapsed = time.perf_counter() - start
            if total != checksum:
                raise SystemExit(f"checksum {total} != {checksum}")
            report("cpu", tasks=tasks, seconds=elapsed)

    def close(self) -> None:
        pass


# --- Dask delayed ------------------------------------------------------------------------

class DaskRunner:
    def __init__(self, distributed: bool) -> None:
        import dask

        self.dask = dask
        self.client = None
        self.cluster = None
        self.pool = None
        if distributed:
            import logging

            from distributed import Client, LocalCluster

            self.cluster = LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                                        host="127.0.0.1", dashboard_address=None,
                                        silence_logs=logging.ERROR)
            self.client = Client(self.cluster)
            self.compute_options: dict[str, object] = {}
        else:
            # The processes scheduler on a pool of our own, kept warm across computes
            # (without one it starts a fresh pool for every compute).
            self.pool = concurrent.futures.ProcessPoolExecutor(
                WORKERS, mp_context=multiprocessing.get_context("spawn"))
            self.compute_options = {"scheduler": "processes", "pool": self.pool}

    def compute(self, *values):
        return self.dask.compute(*values, **self.compute_options)

    def noop(self, tasks: int, repeat: int, warmup: int, **opts: float) -> None:
        delayed = self.dask.delayed
        warm = self.compute(*[delayed(noop)(i) for i in range(warmup)])
        if sum(warm) != warmup * (warmup - 1) // 2:
            raise SystemExit("the warm-up batch returned wrong results")
        for _ in repetitions(repeat, **opts):
            start = time.perf_counter()
            results = self.compute(*[delayed(noop)(i) for i in range(tasks)])
            total = sum(results)
            elapsed = time.perf_counter() - start
            if total != tasks * (tasks - 1) // 2:
                raise SystemExit("the timed batch returned wrong results")
            report("noop", tasks=tasks, seconds=elapsed)

    def latency(self, round_trips: int, repeat: int, warmup: int, **opts: float) -> None:
        delayed = self.dask.delayed
        self.compute(*[delayed(noop)(i) for i in range(warmup)])
        for _ in repetitions(repeat, **opts):
            start = time.perf_counter()
            for i in range(round_trips):
                if self.compute(delayed(noop)(i))[0] != i:
                    raise SystemExit(f"round trip {i} returned a wrong result")
            elapsed = time.perf_counter() - start
            report("latency", round_trips=round_trips, seconds=elapsed / round_trips)

    def _tree(self, lo: int, hi: int):
        delayed = self.dask.delayed
        if hi - lo == 1:
            return delayed(leaf)(lo)
        mid = (lo + hi) // 2
        return delayed(add)(self._tree(lo, mid), self._tree(mid, hi))

    def dag(self, leaves: int, repeat: int, **opts: float) -> None:
        if self.compute(self._tree(0, 64))[0] != dag_expected(64):
            raise SystemExit("the warm-up tree returned a wrong total")
        for _ in repetitions(repeat, **opts):
            start = time.perf_counter()
            (total,) = self.compute(self._tree(0, leaves))
            elapsed = time.perf_counter() - start
            if total != dag_expected(leaves):
                raise SystemExit(f"the tree returned a wrong total: {total!r}")
            report("dag", leaves=leaves, seconds=elapsed)

    def cpu(self, tasks: int, iterations: int, checksum: int, repeat: int, **opts: float) -> None:
        delayed = self.dask.delayed
        self.compute(*[delayed(burn)(seed, iterations) for seed in range(2)])
        for _ in repetitions(repeat, **opts):
            start = time.perf_counter()
            total = sum(self.compute(*[delayed(burn)(seed, iterations) for seed in range(tasks)]))
            elapsed = time.perf_counter() - start
            if total != checksum:
                raise SystemExit(f"checksum {total} != {checksum}")
            report("cpu", tasks=tasks, seconds=elapsed)

    def _chain(self, array, steps: int):
        value = self.dask.delayed(array)
        for _ in range(steps):
            value = self.dask.delayed(step)(value)
        return value

    def arrays(self, mib: int, steps: int, repeat: int, **opts: float) -> None:
        import numpy as np

        length = mib * 1024 * 1024 // 8
        (warm,) = self.compute(self._chain(np.zeros(length), 2))
        if warm.shape != (length,) or warm[0] != 2.0 or warm[-1] != 2.0:
            raise SystemExit("the warm-up chain returned a wrong array")
        for _ in repetitions(repeat, **opts):
            array = np.zeros(length)
            start = time.perf_counter()
            (final,) = self.compute(self._chain(array, steps))
            elapsed = time.perf_counter() - start
            if final.shape != (length,) or final.min() != steps or final.max() != steps:
                raise SystemExit("the chain returned a wrong array")
            report("arrays", mib=mib, steps=steps, seconds=elapsed)

    def _fan(self, length: int, branches: int):
        delayed = self.dask.delayed
        root = delayed(make)(length)
        level = [delayed(shift)(root, i) for i in range(branches)]
        while len(level) > 1:
            level = [delayed(add)(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                     for i in range(0, len(level), 2)]
        return level[0]

    def fanout(self, mib: int, branches: int, repeat: int, **opts: float) -> None:
        length = mib * 1024 * 1024 // 8
        (warm,) = self.compute(self._fan(length, 2))
        fan_check(warm, length, 2)
        for _ in repetitions(repeat, **opts):
            start = time.perf_counter()
            (final,) = self.compute(self._fan(length, branches))
            elapsed = time.perf_counter() - start
            fan_check(final, length, branches)
            report("fanout", mib=mib, branches=branches, seconds=elapsed)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.cluster.close()
        if self.pool is not None:
            self.pool.shutdown(wait=True)


class DaskSubmitRunner(DaskRunner):
    """``client.submit`` per task, ``client.gather`` for the results; a tree of futures."""

    def __init__(self) -> None:
        super().__init__(distributed=True)

    def noop(self, tasks: int, repeat: int, warmup: int, **opts: float) -> None:
        client = self.client
        warm = client.gather([client.submit(noop, i, pure=False) for i in range(warmup)])
        if sum(warm) != warmup * (warmup - 1) // 2:
            raise SystemExit("the warm-up batch returned wrong results")
        for _ in repetitions(repeat, **opts):
            start = time.perf_counter()
            futures = [client.submit(noop, i, pure=False) for i in range(tasks)]
            total = sum(client.gather(futures))
            elapsed = time.perf_counter() - start
            if total != tasks * (tasks - 1) // 2:
                raise SystemExit("the timed batch returned wrong results")
            report("noop", tasks=tasks, seconds=elapsed)

    def latency(self, round_trips: int, repeat: int, warmup: int, **opts: float) -> None:
        client = self.client
        client.gather([client.submit(noop, i, pure=False) for i in range(warmup)])
        for _ in repetitions(repeat, **opts):
            start = time.perf_counter()
            for i in range(round_trips):
                if client.submit(noop, i, pure=False).result() != i:
                    raise SystemExit(f"round trip {i} returned a wrong result")
            elapsed = time.perf_counter() - start
            report("latency", round_trips=round_trips, seconds=elapsed / round_trips)

    def _submit_tree(self, lo: int, hi: int):
        if hi - lo == 1:
            return self.client.submit(leaf, lo, pure=False)
        mid = (lo + hi) // 2
        return self.client.submit(add, self._submit_tree(lo, mid), self._submit_tree(mid, hi),
                                  pure=False)

    def dag(self, leaves: int, repeat: int, **opts: float) -> None:
        if self._submit_tree(0, 64).result() != dag_expected(64):
            raise SystemExit("the warm-up tree returned a wrong total")
        for _ in repetitions(repeat, **opts):
            start = time.perf_counter()
            total = self._submit_tree(0, leaves).result()
            elapsed = time.perf_counter() - start
            if total != dag_expected(leaves):
                raise SystemExit(f"the tree returned a wrong total: {total!r}")
            report("dag", leaves=leaves, seconds=elapsed)


# --- Parsl -------------------------------------------------------------------------------

class ParslRunner:
    def __init__(self) -> None:
        import parsl
        from parsl.config import Config
        from parsl.executors import HighThroughputExecutor
        from parsl.providers import LocalProvider

        self.parsl = parsl
        self.run_dir = tempfile.mkdtemp(prefix="autofuture-bench-parsl-")
        config = Config(
            executors=[HighThroughputExecutor(
                label="htex_local",
                max_workers_per_node=WORKERS,
                cores_per_worker=1,
                address="127.0.0.1",
                loopback_address="127.0.0.1",
                provider=LocalProvider(init_blocks=1, min_blocks=1, max_blocks=1),
            )],
            run_dir=self.run_dir,
            usage_tracking=0,
        )
        parsl.load(config)
        app = parsl.python_app
        self.noop_app = app(noop)
        self.leaf_app = app(leaf)
        self.add_app = app(add)
        self.burn_app = app(burn)
        self.step_app = app(step)

    def noop(self, tasks: int, repeat: int, warmup: int, **opts: float) -> None:
        warm = [self.noop_app(i) for i in range(warmup)]
        if sum(f.result() for f in warm) != warmup * (warmup - 1) // 2:
            raise SystemExit("the warm-up batch returned wrong results")
        for _ in repetitions(repeat, **opts):
            start = time.perf_counter()
            futures = [self.noop_app(i) for i in range(tasks)]
            total = sum(f.result() for f in futures)
            elapsed = time.perf_counter() - start
            if total != tasks * (tasks - 1) // 2:
                raise SystemExit("the timed batch returned wrong results")
            report("noop", tasks=tasks, seconds=elapsed)

    def latency(self, round_trips: int, repeat: int, warmup: int, **opts: float) -> None:
        warm = [self.noop_app(i) for i in range(warmup)]
        if sum(f.result() for f in warm) != warmup * (warmup - 1) // 2:
            raise SystemExit("the warm-up batch returned wrong results")
        for _ in repetitions(repeat, **opts):
            start = time.perf_counter()
            for i in range(round_trips):
                if self.noop_app(i).result() != i:
                    raise SystemExit(f"round trip {i} returned a wrong result")
            elapsed = time.perf_counter() - start
            report("latency", round_trips=round_trips, seconds=elapsed / round_trips)

    def _tree(self, lo: int, hi: int):
        # Parsl apps take futures as arguments and wait for them: the DataFlowKernel
        # tracks the dependencies.
        if hi - lo == 1:
            return self.leaf_app(lo)
        mid = (lo + hi) // 2
        return self.add_app(self._tree(lo, mid), self._tree(mid, hi))

    def dag(self, leaves: int, repeat: int, **opts: float) -> None:
        if self._tree(0, 64).result() != dag_expected(64):
            raise SystemExit("the warm-up tree returned a wrong total")
        for _ in repetitions(repeat, **opts):
            start = time.perf_counter()
            total = self._tree(0, leaves).result()
            elapsed = time.perf_counter() - start
            if total != dag_expected(leaves):
                raise SystemExit(f"the tree returned a wrong total: {total!r}")
            report("dag", leaves=leaves, seconds=elapsed)

    def cpu(self, tasks: int, iterations: int, checksum: int, repeat: int, **opts: float) -> None:
        [f.result() for f in [self.burn_app(seed, iterations) for seed in range(2)]]
        for _ in repetitions(repeat, **opts):
            start = time.perf_counter()
            futures = [self.burn_app(seed, iterations) for seed in range(tasks)]
            total = sum(f.result() for f in futures)
            elapsed = time.perf_counter() - start
            if total != checksum:
                raise SystemExit(f"checksum {total} != {checksum}")
            report("cpu", tasks=tasks, seconds=elapsed)

    def arrays(self, mib: int, steps: int, repeat: int, **opts: float) -> None:
        import numpy as np

        length = mib * 1024 * 1024 // 8
        warm = self.step_app(self.step_app(np.zeros(length))).result()
        if warm.shape != (length,) or warm[0] != 2.0 or warm[-1] != 2.0:
            raise SystemExit("the warm-up chain returned a wrong array")
        for _ in repetitions(repeat, **opts):
            value = np.zeros(length)
            start = time.perf_counter()
            for _ in range(steps):
                value = self.step_app(value)
            final = value.result()
            elapsed = time.perf_counter() - start
            if final.shape != (length,) or final.min() != steps or final.max() != steps:
                raise SystemExit("the chain returned a wrong array")
            report("arrays", mib=mib, steps=steps, seconds=elapsed)

    def close(self) -> None:
        import shutil

        self.parsl.dfk().cleanup()
        shutil.rmtree(self.run_dir, ignore_errors=True)


def make_runner(name: str):
    if name == "serial":
        return SerialRunner()
    if name == "loky":
        from loky import get_reusable_executor

        return SubmitRunner(get_reusable_executor(max_workers=WORKERS))
    if name == "ppe":
        return SubmitRunner(concurrent.futures.ProcessPoolExecutor(
            WORKERS, mp_context=multiprocessing.get_context("fork")))
    if name == "dask-processes":
        return DaskRunner(distributed=False)
    if name == "dask-distributed":
        return DaskRunner(distributed=True)
    if name == "dask-submit":
        return DaskSubmitRunner()
    if name == "parsl":
        return ParslRunner()
    if name in ("joblib", "ray"):
        import peers_joblib_ray  # next to this script

        return peers_joblib_ray.make(name, sys.modules[__name__])
    raise SystemExit(f"unknown runner {name!r}")


def main() -> int:
    runner_name, plan_text = sys.argv[1], sys.argv[2]
    plan = json.loads(plan_text)
    started = time.perf_counter()
    runner = make_runner(runner_name)
    print("READY " + json.dumps({"startup_seconds": time.perf_counter() - started,
                                 "pid": os.getpid()}), file=sys.stderr, flush=True)
    try:
        for case in plan:
            method = getattr(runner, case["case"], None)
            if method is None:
                raise SystemExit(f"runner {runner_name!r} has no case {case['case']!r}")
            method(**case)
    finally:
        runner.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
