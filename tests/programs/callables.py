# autofuture
"""Callable instances, static and class methods, functools.partial, bound methods."""
import functools


class Scaler:
    def __init__(self, k):
        self.k = k

    def __call__(self, x):
        return self.k * x

    def apply(self, x):
        return self.k + x

    @staticmethod
    def twice(x):
        return 2 * x

    @classmethod
    def unit(cls):
        return cls(1)


def power(base, exp):
    return base**exp


def make_scaler(k):
    return Scaler(k)


triple = Scaler(3)
print(triple(4), triple.apply(4), Scaler.twice(5), Scaler.unit().k)
square = functools.partial(power, exp=2)
print(square(7), [square(i) for i in range(4)])
remote = make_scaler(10)
print(remote(2), remote.apply(2), remote.k)
bound = triple.apply
print(bound(power(2, 3)))
