# autofuture
"""Unpacking task results, and loops over zip and enumerate of them."""


def divide(a: int, b: int) -> tuple:
    return a // b, a % b


def pair(n: int) -> list:
    return [n, n * n]


q, r = divide(17, 5)
print("17 = 5 *", q, "+", r)
for i, (a, b) in enumerate([divide(n, 3) for n in range(7, 11)]):
    print(i, a, b)
squares = [pair(n) for n in range(4)]
for n, sq in squares:
    print(n, "squared is", sq)
names = ["x", "y", "z"]
for name, (n, sq) in zip(names, squares):
    print(name, n + sq)
