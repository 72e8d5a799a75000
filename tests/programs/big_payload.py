# autofuture
"""Large task inputs and results (a few megabytes) passed along a chain of tasks."""
import hashlib

import numpy as np


def make(n):
    return np.arange(n, dtype=np.float64)


def scale(a, k):
    return a * k


def digest(data):
    return hashlib.sha256(data).hexdigest()


def blob(n):
    return (bytes(range(251)) * (n // 251 + 1))[:n]


arr = make(2_000_000)
big = scale(scale(arr, 2.0), 0.5)
print(big.shape, float(big.sum()), bool((big == arr).all()))
data = blob(3_000_000)
print(len(data), digest(data))
