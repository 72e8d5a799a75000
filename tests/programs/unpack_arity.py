# autofuture
"""Unpacking task results never blocks: the count comes from the unpacking site."""
from typing import NamedTuple


def foo(x):
    return (1, 2, 3) if x else 5


def pair(x):
    return x, x * 10


def coords() -> tuple[int, int, int]:
    return (7, 8, 9)


class Pixel(NamedTuple):
    x: int
    y: int


def pixel(i) -> Pixel:
    return Pixel(i, -i)


a, b, c = foo(1)
print(a, b, c)
print(a + b + c)
(p, q), r = pair(4), foo(True)
print(p, q, r)
for i in range(3):
    lo, hi = pair(i)
    print(i, lo, hi, hi - lo)
for k, v in [pair(5), pair(6)]:
    print("pair", k, v)
cx, cy, cz = coords()
print(cx * cy * cz, len(coords()), [n for n in coords()])
px, py = pixel(3)
print(px, py, pixel(4).x, pixel(4).y, pixel(5))
