# autofuture
"""Loops inside loops, and a comprehension with two generators and a filter."""


def mul(a: int, b: int) -> int:
    return a * b


for i in range(1, 4):
    for j in range(1, 4):
        print(i, "x", j, "=", mul(i, j))
    print("row", i, "done")
table = [mul(i, j) for i in range(1, 5) for j in range(1, 5) if i <= j]
print("upper triangle", table)
pairs = [[mul(i, j) for j in range(3)] for i in range(3)]
print("pairs", pairs)
