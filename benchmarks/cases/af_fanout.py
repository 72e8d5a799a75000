# autofuture
"""A fan-out/fan-in of numpy arrays (run by benchmarks/suite.py).

    python -m autofuture -n 2 benchmarks/cases/af_fanout.py MIB BRANCHES REPEAT

Each repetition times: a task makes an array of MIB MiB of zeros; BRANCHES
tasks each add their index to it (a new array each); a binary tree of add
tasks sums them into one; the workflow reads the sum with autofuture.result()
and checks it holds 0 + 1 + ... + (BRANCHES - 1) everywhere. The figure goes
to stderr as a ``BENCH {json}`` line.
"""
import json
import sys
import time

import numpy as np

import autofuture

MIB = int(sys.argv[1])
BRANCHES = int(sys.argv[2])
REPEAT = int(sys.argv[3])
LENGTH = MIB * 1024 * 1024 // 8


def make(length: int) -> np.ndarray:
    return np.zeros(length)


def shift(a: np.ndarray, i: int) -> np.ndarray:
    return a + float(i)


def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a + b


@autofuture.workflow
def tree(xs: list) -> np.ndarray:
    if len(xs) == 1:
        return xs[0]
    return tree([add(xs[i], xs[i + 1]) if i + 1 < len(xs) else xs[i]
                 for i in range(0, len(xs), 2)])


@autofuture.workflow
def fan(branches: int) -> np.ndarray:
    root = make(LENGTH)
    return tree([shift(root, i) for i in range(branches)])


expected = BRANCHES * (BRANCHES - 1) / 2
warm = autofuture.result(fan(2))
if warm.shape != (LENGTH,) or warm[0] != 1.0:
    raise SystemExit("the warm-up fan returned a wrong array")

for _ in range(REPEAT):
    start = time.perf_counter()
    final = autofuture.result(fan(BRANCHES))
    elapsed = time.perf_counter() - start
    if final.shape != (LENGTH,) or final.min() != expected or final.max() != expected:
        raise SystemExit("the fan returned a wrong array")
    print("BENCH " + json.dumps({"case": "fanout", "mib": MIB, "branches": BRANCHES,
                                 "seconds": elapsed}), file=sys.stderr)
