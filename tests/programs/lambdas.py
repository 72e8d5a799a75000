# autofuture
"""Lambdas assigned to names and called; lambdas as key functions and immediately called."""

square = lambda x: x * x  # noqa: E731
add = lambda a, b=1: a + b  # noqa: E731
print(square(7))
print(add(2), add(2, b=5), add(square(2), square(3)))
vals = [square(i) for i in range(5)]
print(vals)
print(sorted(vals, key=lambda v: -v))
print(list(map(square, range(4))))
print((lambda z: z + 100)(1))
