# autofuture
"""Issue 19's program, as its user wrote it: two chains of steps on 40 MiB arrays.

Run by benchmarks/suite.py under plain ``python`` and under
``python -m autofuture -n 2``; the figure is the whole process's wall time,
start-up included, as the issue measured it.
"""
import numpy as np


def make(n: int, fill: float) -> np.ndarray:
    return np.full(n, fill)


def step(a: np.ndarray) -> np.ndarray:
    return a + 1.0


def total(a: np.ndarray) -> float:
    return float(a.sum())


N = 5 * 1024 * 1024          # 40 MiB per array
sums = []
for fill in (0.0, 10.0):
    a = make(N, fill)
    b = step(step(step(step(a))))
    c = step(step(step(step(b))))
    sums.append(total(c))
print([s / N for s in sums])
