# autofuture
"""Fan-out/fan-in: LEAVES leaf tasks summed by a binary tree of add tasks
(run by benchmarks/suite.py).

    python -m autofuture -n 2 benchmarks/cases/af_dag.py LEAVES REPEAT

tree_sum is an @autofuture.workflow function: its recursion runs in the
workflow and makes LEAVES leaf tasks and LEAVES - 1 add tasks, each add
starting when its two inputs are ready. A warm-up tree of 64 leaves runs
first; each repetition then times one whole tree, from the first call to
its checked total, as a ``BENCH {json}`` line on stderr.
"""
import json
import sys
import time

import autofuture

LEAVES = int(sys.argv[1])
REPEAT = int(sys.argv[2])


def leaf(i: int) -> int:
    return i * i


def add(a: int, b: int) -> int:
    return a + b


@autofuture.workflow
def tree_sum(lo: int, hi: int) -> int:
    if hi - lo == 1:
        return leaf(lo)
    mid = (lo + hi) // 2
    return add(tree_sum(lo, mid), tree_sum(mid, hi))


if autofuture.result(tree_sum(0, 64)) != (63 * 64 * 127) // 6:
    raise SystemExit("the warm-up tree returned a wrong total")

for _ in range(REPEAT):
    start = time.perf_counter()
    total = autofuture.result(tree_sum(0, LEAVES))
    elapsed = time.perf_counter() - start
    if total != (LEAVES - 1) * LEAVES * (2 * LEAVES - 1) // 6:
        raise SystemExit(f"the tree returned a wrong total: {total!r}")
    print("BENCH " + json.dumps({"case": "dag", "leaves": LEAVES, "seconds": elapsed}),
          file=sys.stderr)
