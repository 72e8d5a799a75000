# autofuture
"""A marked script whose hot loop makes no task call (issue 16: at most 1.2x plain
python), run by benchmarks/suite.py under ``python -m autofuture -n 2`` and plain
``python``.

    python -m autofuture -n 2 benchmarks/cases/af_hotloop.py ITERATIONS REPEAT
    python benchmarks/cases/af_hotloop.py ITERATIONS REPEAT

The script runs a hot loop of local operations (a record's attributes,
arithmetic, a builtin call, a dict counted through ``get``, a list of tuples),
then four tasks, then the same loop again. Each repetition times one full pass
of a loop (checked after the clock stops): the first loop as ``hotloop-before``
(before the program's first task), the second as ``hotloop-after`` (futures
exist by then), as ``BENCH {json}`` lines on stderr.
Both start after a pause of SETTLE_SECONDS, while the workers autofuture
starts at launch boot on the same cores (start-up, never in a figure).
The file is the same under both commands: only the runner differs.
"""
import json
import sys
import time

ITERATIONS = int(sys.argv[1])
REPEAT = int(sys.argv[2])
SETTLE_SECONDS = 4.0


class Record:
    def __init__(self, kind: str, value: int) -> None:
        self.kind = kind
        self.value = value


def score_of(i: int) -> int:
    return abs((i % 256 * 37) % 101 - 50) * 2 + i % 7


def summarize(first: int, last: int) -> int:
    return sum(score_of(i) for i in range(first, last))


time.sleep(SETTLE_SECONDS)  # the workers autofuture starts at launch boot meanwhile
records = [Record("abcd"[i % 4], (i * 37) % 101) for i in range(256)]
EXPECTED = sum(abs((i % 256 * 37) % 101 - 50) * 2 + i % 7 for i in range(ITERATIONS))

for _ in range(REPEAT):
    start = time.perf_counter()
    counts = {}
    scored = []
    for i in range(ITERATIONS):
        rec = records[i % 256]
        score = abs(rec.value - 50) * 2 + i % 7
        counts[rec.kind] = counts.get(rec.kind, 0) + 1
        scored.append((rec.kind, score))
    elapsed = time.perf_counter() - start
    if sum(score for _, score in scored) != EXPECTED or sum(counts.values()) != ITERATIONS:
        raise SystemExit("the first pass went wrong")
    print("BENCH " + json.dumps({"case": "hotloop-before", "iterations": ITERATIONS,
                                 "seconds": elapsed}), file=sys.stderr)

chunk = ITERATIONS // 4
totals = [summarize(k * chunk, (k + 1) * chunk) for k in range(4)]
if sum(totals) != EXPECTED:
    raise SystemExit(f"the tasks went wrong: {sum(totals)} != {EXPECTED}")

for _ in range(REPEAT):
    start = time.perf_counter()
    counts = {}
    scored = []
    for i in range(ITERATIONS):
        rec = records[i % 256]
        score = abs(rec.value - 50) * 2 + i % 7
        counts[rec.kind] = counts.get(rec.kind, 0) + 1
        scored.append((rec.kind, score))
    elapsed = time.perf_counter() - start
    if sum(score for _, score in scored) != EXPECTED or sum(counts.values()) != ITERATIONS:
        raise SystemExit("the second pass went wrong")
    print("BENCH " + json.dumps({"case": "hotloop-after", "iterations": ITERATIONS,
                                 "seconds": elapsed}), file=sys.stderr)
