# autofuture
"""A dataflow chain with a fan-out and a fan-in."""
import math


def square(x: int) -> int:
    return x * x


def add(a: int, b: int) -> int:
    print("adding", a, b)
    return a + b


a = square(3)
b = square(4)
c = add(a, b)
print("hypotenuse", math.sqrt(c))
squares = [square(i) for i in range(5)]
print(squares, sum(squares), len(squares))
for i in range(3):
    print(i, add(i, square(i)))
if c > 20:
    label = "big"
else:
    label = "small"
print(label, {"c": c, "list": [a, b]})
