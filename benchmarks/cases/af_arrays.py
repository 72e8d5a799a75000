# autofuture
"""10 MiB numpy arrays through a chain of tasks (run by benchmarks/suite.py).

    python -m autofuture -n 2 benchmarks/cases/af_arrays.py MIB STEPS REPEAT

Each repetition makes a float64 array of MIB MiB of zeros in the workflow
(untimed), then times STEPS dependent tasks, each adding 1.0 to the array
it gets and returning a new one, through autofuture.result() on the last;
the result must hold STEPS everywhere. ``chain`` is an @autofuture.workflow
function, so its recursion runs in the workflow and only ``step`` calls are
tasks. The figure goes to stderr as a ``BENCH {json}`` line.
"""
import json
import sys
import time

import numpy as np

import autofuture

MIB = int(sys.argv[1])
STEPS = int(sys.argv[2])
REPEAT = int(sys.argv[3])
LENGTH = MIB * 1024 * 1024 // 8


def step(a: np.ndarray) -> np.ndarray:
    return a + 1.0


@autofuture.workflow
def chain(a: np.ndarray, k: int) -> np.ndarray:
    if k == 0:
        return a
    return chain(step(a), k - 1)


warm = autofuture.result(chain(np.zeros(LENGTH), 2))
if warm.shape != (LENGTH,) or warm[0] != 2.0 or warm[-1] != 2.0:
    raise SystemExit("the warm-up chain returned a wrong array")

for _ in range(REPEAT):
    zeros = np.zeros(LENGTH)
    start = time.perf_counter()
    final = autofuture.result(chain(zeros, STEPS))
    elapsed = time.perf_counter() - start
    if final.shape != (LENGTH,) or final.min() != STEPS or final.max() != STEPS:
        raise SystemExit("the chain returned a wrong array")
    print("BENCH " + json.dumps({"case": "arrays", "mib": MIB, "steps": STEPS,
                                 "seconds": elapsed}), file=sys.stderr)
