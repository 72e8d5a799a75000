# autofuture
"""Where the driver's memory per pending task goes (``suite.py --profile scale-memory``).

    python -m autofuture -n 2 benchmarks/cases/af_scale_memory.py N

tracemalloc snapshots are taken after a warm-up and right after N task calls
have been made (the snapshot is a local call, run at its turn while the tasks
are still pending or just done, with all N futures alive). The growth per
allocation site, divided by N, goes to stderr as one ``MEMORY {json}`` line.
"""
import json
import sys
import tracemalloc

N = int(sys.argv[1])


def noop(i: int) -> int:
    return i


def growth(before, after, n: int) -> list:
    return [[s.traceback[0].filename, s.traceback[0].lineno, s.size_diff / n, s.count_diff / n]
            for s in after.compare_to(before, "lineno") if s.size_diff > 0]


warm = [noop(i) for i in range(200)]
if sum(warm) != 199 * 200 // 2:
    raise SystemExit("the warm-up batch returned wrong results")
tracemalloc.start(1)
before = tracemalloc.take_snapshot()
results = [noop(i) for i in range(N)]
after = tracemalloc.take_snapshot()
print("MEMORY " + json.dumps(growth(before, after, N)), file=sys.stderr)
if sum(results) != N * (N - 1) // 2:
    raise SystemExit("the batch returned wrong results")
