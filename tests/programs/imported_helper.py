# autofuture
"""Imports a marked module (helpers/shapes.py) and an unmarked one (helpers/plainmath.py).

The program puts its own helpers/ directory on sys.path; each module's top
level runs exactly once, in program order.
"""
import os
import sys


def pre(x):
    return x * 2


print("before imports", pre(21))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "helpers"))
import shapes  # noqa: E402
import plainmath  # noqa: E402
from shapes import perimeter  # noqa: E402

print("imported")
areas = [shapes.area(r) for r in range(1, 4)]
print(areas)
print(perimeter(2), plainmath.double(perimeter(1)))
print(shapes.UNIT)
import shapes  # noqa: E402,F811

print(shapes.area(3) == areas[2])
