# autofuture
"""Single-task round trip: one task at a time, each waited for (run by benchmarks/suite.py).

    python -m autofuture -n 2 benchmarks/cases/af_latency.py K REPEAT WARMUP

Each repetition times K round trips in a row: a task call, then
autofuture.result() on its future, so the next call starts only after the
previous result is back in the workflow. The figure is the mean round trip
of the K, in seconds, as a ``BENCH {json}`` line on stderr.
"""
import json
import sys
import time

import autofuture

K = int(sys.argv[1])
REPEAT = int(sys.argv[2])
WARMUP = int(sys.argv[3])


def noop(i: int) -> int:
    return i


warm = [noop(i) for i in range(WARMUP)]
if sum(warm) != WARMUP * (WARMUP - 1) // 2:
    raise SystemExit("the warm-up batch returned wrong results")

for _ in range(REPEAT):
    start = time.perf_counter()
    for i in range(K):
        value = autofuture.result(noop(i))
        if value != i:
            raise SystemExit(f"round trip {i} returned {value!r}")
    elapsed = time.perf_counter() - start
    print("BENCH " + json.dumps({"case": "latency", "round_trips": K, "seconds": elapsed / K}),
          file=sys.stderr)
