# autofuture
"""Floats, bools, None, tuples and negative numbers cross as literals."""


def stats(xs: list) -> tuple:
    mean = sum(xs) / len(xs)
    return (mean, min(xs), max(xs))


def is_even(n: int) -> bool:
    return n % 2 == 0


def maybe(n: int):
    return None if n < 0 else n


data = [2.5, -1.0, 3.75, 0.1, 1e-3, 12345678.9]
mean, low, high = stats(data)
print("mean", mean, "low", low, "high", high)
print("evens", [is_even(n) for n in range(5)])
print("maybe", maybe(-3), maybe(4))
neg = maybe(-7)
print("none is none:", neg is None, "negative power", low ** 2, -low ** 2)
print("tuple", stats([1, 2, 3]), "bool sum", sum([is_even(n) for n in range(10)]))
