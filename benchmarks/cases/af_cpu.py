# autofuture
"""CPU-bound: TASKS tasks of pure-Python work, about 25 ms each (run by benchmarks/suite.py).

    python -m autofuture -n 2 benchmarks/cases/af_cpu.py TASKS ITERATIONS CHECKSUM REPEAT

burn() is the same function as in peers.py (the suite picks ITERATIONS so that
one call takes about 25 ms here, and computes CHECKSUM, the sum of the
results, serially). After a warm-up of two full-size tasks, each repetition times the
TASKS calls through their checked sum, as a ``BENCH {json}`` line on stderr;
the suite divides the serial time by it to get the speedup.
"""
import json
import sys
import time

TASKS = int(sys.argv[1])
ITERATIONS = int(sys.argv[2])
CHECKSUM = int(sys.argv[3])
REPEAT = int(sys.argv[4])


def burn(seed: int, iterations: int) -> int:
    """A linear congruential walk: pure-Python integer work, no allocation to speak of."""
    x = seed
    for _ in range(iterations):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x


warm = [burn(seed, ITERATIONS) for seed in range(2)]
if len(warm) != 2 or min(warm) < 0:
    raise SystemExit("the warm-up tasks returned wrong results")

for _ in range(REPEAT):
    start = time.perf_counter()
    results = [burn(seed, ITERATIONS) for seed in range(TASKS)]
    total = sum(results)
    if total != CHECKSUM:
        raise SystemExit(f"checksum {total} != {CHECKSUM}")
    elapsed = time.perf_counter() - start
    print("BENCH " + json.dumps({"case": "cpu", "tasks": TASKS, "seconds": elapsed}),
          file=sys.stderr)
