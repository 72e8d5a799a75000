# autofuture
"""No-op throughput: N no-op tasks, then their sum (run by benchmarks/suite.py).

    python -m autofuture -n 2 benchmarks/cases/af_noop.py N REPEAT WARMUP [CASE]

A warm-up batch of WARMUP tasks starts and warms the worker pool; then each of
REPEAT repetitions times, with time.perf_counter, the submission of N task
calls through the last result: the ``if`` on the total is a point where the
workflow waits for every one of them. Each figure goes to stderr as a
``BENCH {json}`` line.
"""
import json
import sys
import time

N = int(sys.argv[1])
REPEAT = int(sys.argv[2])
WARMUP = int(sys.argv[3])
CASE = sys.argv[4] if len(sys.argv) > 4 else "noop"  # "map": the same, with 50,000 tasks


def noop(i: int) -> int:
    return i


warm = [noop(i) for i in range(WARMUP)]
if sum(warm) != WARMUP * (WARMUP - 1) // 2:
    raise SystemExit("the warm-up batch returned wrong results")

for _ in range(REPEAT):
    start = time.perf_counter()
    results = [noop(i) for i in range(N)]
    total = sum(results)
    if total != N * (N - 1) // 2:
        raise SystemExit("the timed batch returned wrong results")
    elapsed = time.perf_counter() - start
    print("BENCH " + json.dumps({"case": CASE, "tasks": N, "seconds": elapsed}),
          file=sys.stderr)
