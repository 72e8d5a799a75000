# autofuture
"""The futurized driver on its own: local operations, no task at all
(run by benchmarks/suite.py, under ``python -m autofuture -n 2`` and under plain ``python``).

    python -m autofuture -n 2 benchmarks/cases/af_driver.py ITERATIONS REPEAT
    python benchmarks/cases/af_driver.py ITERATIONS REPEAT

Each loop iteration does one operation of each of five kinds, in the
workflow's own top-level code: an attribute read, arithmetic, a list append,
a dict update and an f-string. ITERATIONS = 20,000 makes 100,000 operations.
A warm-up pass of 2,000 iterations runs first, then a pause of SETTLE_SECONDS
(under autofuture the workers it starts at launch boot meanwhile, on the same
cores: that is start-up, never in a figure); each repetition times one
full pass through its checked total (one local call, ``sum``), as a
``BENCH {json}`` line on stderr.
The file is the same under both commands: only the runner differs.
"""
import json
import sys
import time

ITERATIONS = int(sys.argv[1])
REPEAT = int(sys.argv[2])
SETTLE_SECONDS = 4.0


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y


points = [Point(i, 2 * i) for i in range(64)]

warm_values = []
warm_tally = {}
for i in range(2000):
    warm_y = points[i % 64].y
    warm_value = warm_y * 3 + i
    warm_values.append(warm_value)
    warm_tally[i % 16] = warm_value
    warm_label = f"{i}:{warm_value}"
if len(warm_values) != 2000 or len(warm_tally) != 16:
    raise SystemExit("the warm-up pass went wrong")
time.sleep(SETTLE_SECONDS)

EXPECTED = sum(6 * (i % 64) + i for i in range(ITERATIONS))

for _ in range(REPEAT):
    start = time.perf_counter()
    values = []
    tally = {}
    labels = []
    for i in range(ITERATIONS):
        y = points[i % 64].y                  # attribute read
        value = y * 3 + i                     # arithmetic
        values.append(value)                  # list append
        tally[i % 16] = value                 # dict update
        labels.append(f"{i}:{value}")         # f-string
    if sum(values) != EXPECTED or labels[-1] != f"{ITERATIONS - 1}:{values[-1]}":
        raise SystemExit("the timed pass went wrong")
    elapsed = time.perf_counter() - start
    print("BENCH " + json.dumps({"case": "driver", "operations": 5 * ITERATIONS,
                                 "seconds": elapsed}), file=sys.stderr)
