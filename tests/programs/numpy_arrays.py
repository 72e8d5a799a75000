# autofuture
"""numpy arrays as task arguments and results, and numpy operations on futures."""
import numpy as np


def make(n):
    return np.arange(n, dtype=float).reshape(2, n // 2)


def normalize(a):
    return a / a.sum()


def stats(a):
    return float(a.mean()), float(a.std())


def noise(seed, n):
    return np.random.default_rng(seed).integers(0, 100, size=n)


a = make(6)
b = a * 2 + 1
print(b)
print(a.shape, b.dtype, a.T.shape)
c = a @ a.T
print(c)
print(np.sum(b), np.max(c))
print(np.round(normalize(b), 4))
mean, std = stats(b)
print(f"{mean:.3f} {std:.3f}")
print(b[1, 2], b[:, 0])
print(np.concatenate([make(4), make(4)], axis=1))
print((a > 2).sum(), np.ones(3) + a)
print(np.array_equal(make(2), make(2)), np.sqrt(make(8)).round(3))
print(np.stack([make(2) for _ in range(3)]).shape)
print(noise(42, 5), noise(42, 5).tolist() == noise(42, 5).tolist())
print(np.array([float(stats(make(2 * i + 2))[0]) for i in range(3)]), np.mean([stats(b)[1], stats(a)[1]]))
