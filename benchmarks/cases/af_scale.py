# autofuture
"""Scale: the driver's time and peak memory for N no-op tasks (run by benchmarks/suite.py).

    python -m autofuture -n 2 benchmarks/cases/af_scale.py N REPEAT [gc]

After a warm-up batch of 200 tasks, the peak resident set size of this
(driver) process is read with resource.getrusage; each repetition then times
N task calls through their checked sum. With the last repetition the peak RSS
is read again: the growth, divided by N, is the driver's memory per task.
Each repetition's figures go to stderr as a ``BENCH {json}`` line (ru_maxrss
is in KiB on Linux). The default --lookahead bounds how many of the N are
pending at once. With ``gc`` (``suite.py --profile scale``, never in the
suite's table), the time spent in Python's cyclic garbage collector during
the timed section is added to each record as ``gc_seconds``.
"""
import gc
import json
import resource
import sys
import time

import autofuture

N = int(sys.argv[1])
REPEAT = int(sys.argv[2])
GC_STATS = sys.argv[3:] == ["gc"]
gc_started = []
gc_seconds = []


@autofuture.local  # a gc callback, never a task: it may keep its figures in module lists
def on_gc(phase: str, info: dict) -> None:
    if phase == "start":
        gc_started.append(time.perf_counter())
    elif gc_started:
        gc_seconds.append(time.perf_counter() - gc_started.pop())


def noop(i: int) -> int:
    return i


warm = [noop(i) for i in range(200)]
if sum(warm) != 199 * 200 // 2:
    raise SystemExit("the warm-up batch returned wrong results")
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if GC_STATS:
    gc.callbacks.append(on_gc)

for _ in range(REPEAT):
    start = time.perf_counter()
    results = [noop(i) for i in range(N)]
    total = sum(results)
    if total != N * (N - 1) // 2:
        raise SystemExit("the timed batch returned wrong results")
    elapsed = time.perf_counter() - start
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    record = {"case": "scale", "tasks": N, "seconds": elapsed,
              "maxrss_kib_before": rss_before, "maxrss_kib_after": rss_peak}
    if GC_STATS:
        record["gc_seconds"] = sum(gc_seconds)
        record["gc_collections"] = len(gc_seconds)
    print("BENCH " + json.dumps(record), file=sys.stderr)
