"""joblib and Ray, the peers issue 16 added to benchmarks/suite.py (imported by peers.py).

* ``joblib`` -- ``joblib.Parallel(n_jobs=2)`` on its default loky backend, with
  its automatic batching (``batch_size="auto"``): what a user writes for a map.
  A map is one ``Parallel`` call; what is not a map (a round trip, a chain, a
  tree) is one ``Parallel`` call per step or per tree level, inside one
  ``with Parallel(...) as parallel:`` block, joblib's cheapest way to make
  several calls on the same workers.
* ``ray`` -- ``@ray.remote`` tasks on a local ``ray.init(num_cpus=2)``;
  object refs are passed as the arguments of dependent tasks (Ray tracks
  the dependencies), and ``ray.get`` waits.

The task functions are those of peers.py's ``__main__`` (given as ``work``),
so both tools send them by value, as they would a user's script's.
"""

from __future__ import annotations

import time

WORKERS = 2


class JoblibRunner:
    def __init__(self, work) -> None:
        import joblib

        self.w = work
        self.joblib = joblib
        self.delayed = joblib.delayed

    def parallel(self):
        return self.joblib.Parallel(n_jobs=WORKERS)

    def noop(self, tasks: int, repeat: int, warmup: int, **opts) -> None:
        w, delayed = self.w, self.delayed
        warm = self.parallel()(delayed(w.noop)(i) for i in range(warmup))
        if sum(warm) != warmup * (warmup - 1) // 2:
            raise SystemExit("the warm-up batch returned wrong results")
        for _ in w.repetitions(repeat, **opts):
            start = time.perf_counter()
            total = sum(self.parallel()(delayed(w.noop)(i) for i in range(tasks)))
            elapsed = time.perf_counter() - start
            if total != tasks * (tasks - 1) // 2:
                raise SystemExit("the timed batch returned wrong results")
            w.report(opts.get("case", "noop"), tasks=tasks, seconds=elapsed)

    map = noop

    def latency(self, round_trips: int, repeat: int, warmup: int, **opts) -> None:
        w, delayed = self.w, self.delayed
        with self.parallel() as parallel:
            parallel(delayed(w.noop)(i) for i in range(warmup))
            for _ in w.repetitions(repeat, **opts):
                start = time.perf_counter()
                for i in range(round_trips):
                    if parallel([delayed(w.noop)(i)])[0] != i:
                        raise SystemExit(f"round trip {i} returned a wrong result")
                elapsed = time.perf_counter() - start
                w.report("latency", round_trips=round_trips, seconds=elapsed / round_trips)

    def _tree(self, parallel, leaves: int) -> int:
        """The leaves in one call, then one call per level of the tree (pairs added)."""
        w, delayed = self.w, self.delayed
        level = parallel(delayed(w.leaf)(i) for i in range(leaves))
        while len(level) > 1:
            pairs = parallel(delayed(w.add)(level[i], level[i + 1])
                             for i in range(0, len(level) - 1, 2))
            level = pairs + ([level[-1]] if len(level) % 2 else [])
        return level[0]

    def dag(self, leaves: int, repeat: int, **opts) -> None:
        w = self.w
        with self.parallel() as parallel:
            if self._tree(parallel, 64) != w.dag_expected(64):
                raise SystemExit("the warm-up tree returned a wrong total")
            for _ in w.repetitions(repeat, **opts):
                start = time.perf_counter()
                total = self._tree(parallel, leaves)
                elapsed = time.perf_counter() - start
                if total != w.dag_expected(leaves):
                    raise SystemExit(f"the tree returned a wrong total: {total!r}")
                w.report("dag", leaves=leaves, seconds=elapsed)

    def cpu(self, tasks: int, iterations: int, checksum: int, repeat: int, **opts) -> None:
        w, delayed = self.w, self.delayed
        self.parallel()(delayed(w.burn)(seed, iterations) for seed in range(2))
        for _ in w.repetitions(repeat, **opts):
            start = time.perf_counter()
            total = sum(self.parallel()(delayed(w.burn)(seed, iterations)
                                        for seed in range(tasks)))
            elapsed = time.perf_counter() - start
            if total != checksum:
                raise SystemExit(f"checksum {total} != {checksum}")
            w.report("cpu", tasks=tasks, seconds=elapsed)

    def arrays(self, mib: int, steps: int, repeat: int, **opts) -> None:
        import numpy as np

        w, delayed = self.w, self.delayed
        length = mib * 1024 * 1024 // 8
        with self.parallel() as parallel:
            warm = np.zeros(length)
            for _ in range(2):
                warm = parallel([delayed(w.step)(warm)])[0]
            if warm.shape != (length,) or warm[0] != 2.0 or warm[-1] != 2.0:
                raise SystemExit("the warm-up chain returned a wrong array")
            for _ in w.repetitions(repeat, **opts):
                array = np.zeros(length)
                start = time.perf_counter()
                for _ in range(steps):
                    array = parallel([delayed(w.step)(array)])[0]
                elapsed = time.perf_counter() - start
                if array.shape != (length,) or array.min() != steps or array.max() != steps:
                    raise SystemExit("the chain returned a wrong array")
                w.report("arrays", mib=mib, steps=steps, seconds=elapsed)

    def fanout(self, mib: int, branches: int, repeat: int, **opts) -> None:
        w, delayed = self.w, self.delayed
        length = mib * 1024 * 1024 // 8

        def fan(parallel, count):
            root = parallel([delayed(w.make)(length)])[0]
            level = parallel(delayed(w.shift)(root, i) for i in range(count))
            while len(level) > 1:
                pairs = parallel(delayed(w.add)(level[i], level[i + 1])
                                 for i in range(0, len(level) - 1, 2))
                level = pairs + ([level[-1]] if len(level) % 2 else [])
            return level[0]

        with self.parallel() as parallel:
            w.fan_check(fan(parallel, 2), length, 2)
            for _ in w.repetitions(repeat, **opts):
                start = time.perf_counter()
                final = fan(parallel, branches)
                elapsed = time.perf_counter() - start
                w.fan_check(final, length, branches)
                w.report("fanout", mib=mib, branches=branches, seconds=elapsed)

    def scale(self, tasks: int, repeat: int, **opts) -> None:
        w, delayed = self.w, self.delayed
        warm = self.parallel()(delayed(w.noop)(i) for i in range(200))
        if sum(warm) != 199 * 200 // 2:
            raise SystemExit("the warm-up batch returned wrong results")
        before = w.maxrss_kib()
        for _ in w.repetitions(repeat, **opts):
            start = time.perf_counter()
            results = self.parallel()(delayed(w.noop)(i) for i in range(tasks))
            total = sum(results)
            elapsed = time.perf_counter() - start
            if total != tasks * (tasks - 1) // 2:
                raise SystemExit("the timed batch returned wrong results")
            w.report("scale", tasks=tasks, seconds=elapsed, maxrss_kib_before=before,
                     maxrss_kib_after=w.maxrss_kib())
            del results

    def close(self) -> None:
        pass  # joblib's loky workers are reused by the process and end with it


class RayRunner:
    def __init__(self, work) -> None:
        import logging

        import ray

        self.w = work
        self.ray = ray
        ray.init(num_cpus=WORKERS, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.ERROR, configure_logging=False)
        remote = ray.remote
        self.noop_r = remote(work.noop)
        self.leaf_r = remote(work.leaf)
        self.add_r = remote(work.add)
        self.burn_r = remote(work.burn)
        self.step_r = remote(work.step)
        self.make_r = remote(work.make)
        self.shift_r = remote(work.shift)

    def noop(self, tasks: int, repeat: int, warmup: int, **opts) -> None:
        w, get = self.w, self.ray.get
        warm = get([self.noop_r.remote(i) for i in range(warmup)])
        if sum(warm) != warmup * (warmup - 1) // 2:
            raise SystemExit("the warm-up batch returned wrong results")
        for _ in w.repetitions(repeat, **opts):
            start = time.perf_counter()
            total = sum(get([self.noop_r.remote(i) for i in range(tasks)]))
            elapsed = time.perf_counter() - start
            if total != tasks * (tasks - 1) // 2:
                raise SystemExit("the timed batch returned wrong results")
            w.report(opts.get("case", "noop"), tasks=tasks, seconds=elapsed)

    map = noop

    def latency(self, round_trips: int, repeat: int, warmup: int, **opts) -> None:
        w, get = self.w, self.ray.get
        get([self.noop_r.remote(i) for i in range(warmup)])
        for _ in w.repetitions(repeat, **opts):
            start = time.perf_counter()
            for i in range(round_trips):
                if get(self.noop_r.remote(i)) != i:
                    raise SystemExit(f"round trip {i} returned a wrong result")
            elapsed = time.perf_counter() - start
            w.report("latency", round_trips=round_trips, seconds=elapsed / round_trips)

    def _tree(self, lo: int, hi: int):
        if hi - lo == 1:
            return self.leaf_r.remote(lo)
        mid = (lo + hi) // 2
        return self.add_r.remote(self._tree(lo, mid), self._tree(mid, hi))

    def dag(self, leaves: int, repeat: int, **opts) -> None:
        w, get = self.w, self.ray.get
        if get(self._tree(0, 64)) != w.dag_expected(64):
            raise SystemExit("the warm-up tree returned a wrong total")
        for _ in w.repetitions(repeat, **opts):
            start = time.perf_counter()
            total = get(self._tree(0, leaves))
            elapsed = time.perf_counter() - start
            if total != w.dag_expected(leaves):
                raise SystemExit(f"the tree returned a wrong total: {total!r}")
            w.report("dag", leaves=leaves, seconds=elapsed)

    def cpu(self, tasks: int, iterations: int, checksum: int, repeat: int, **opts) -> None:
        w, get = self.w, self.ray.get
        get([self.burn_r.remote(seed, iterations) for seed in range(2)])
        for _ in w.repetitions(repeat, **opts):
            start = time.perf_counter()
            total = sum(get([self.burn_r.remote(seed, iterations) for seed in range(tasks)]))
            elapsed = time.perf_counter() - start
            if total != checksum:
                raise SystemExit(f"checksum {total} != {checksum}")
            w.report("cpu", tasks=tasks, seconds=elapsed)

    def arrays(self, mib: int, steps: int, repeat: int, **opts) -> None:
        import numpy as np

        w, get = self.w, self.ray.get
        length = mib * 1024 * 1024 // 8
        warm = get(self.step_r.remote(self.step_r.remote(np.zeros(length))))
        if warm.shape != (length,) or warm[0] != 2.0 or warm[-1] != 2.0:
            raise SystemExit("the warm-up chain returned a wrong array")
        for _ in w.repetitions(repeat, **opts):
            value = np.zeros(length)
            start = time.perf_counter()
            for _ in range(steps):
                value = self.step_r.remote(value)
            final = get(value)
            elapsed = time.perf_counter() - start
            if final.shape != (length,) or final.min() != steps or final.max() != steps:
                raise SystemExit("the chain returned a wrong array")
            w.report("arrays", mib=mib, steps=steps, seconds=elapsed)
            del final, value

    def fanout(self, mib: int, branches: int, repeat: int, **opts) -> None:
        w, get = self.w, self.ray.get
        length = mib * 1024 * 1024 // 8

        def fan(count):
            root = self.make_r.remote(length)
            level = [self.shift_r.remote(root, i) for i in range(count)]
            while len(level) > 1:
                level = [self.add_r.remote(level[i], level[i + 1]) if i + 1 < len(level)
                         else level[i] for i in range(0, len(level), 2)]
            return get(level[0])

        w.fan_check(fan(2), length, 2)
        for _ in w.repetitions(repeat, **opts):
            start = time.perf_counter()
            final = fan(branches)
            elapsed = time.perf_counter() - start
            w.fan_check(final, length, branches)
            w.report("fanout", mib=mib, branches=branches, seconds=elapsed)

    def close(self) -> None:
        self.ray.shutdown()


def make(name: str, work):
    return JoblibRunner(work) if name == "joblib" else RayRunner(work)
