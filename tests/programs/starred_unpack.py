# autofuture
"""Starred targets in unpacking, and starred arguments and displays built from futures."""


def seq(n):
    return list(range(n))


def letters():
    return ("a", "b", "c")


def table(k):
    return {k: len(k)}


first, *rest = seq(5)
print(first, rest)
*init, last = seq(4)
print(init, last)
head, *middle, tail = seq(6)
print(head, middle, tail, len(middle))
one, *empty = seq(1)
print(one, empty)
(l1, *ls), n3 = letters(), seq(3)
print(l1, ls, n3)
print(*rest)
print(*letters(), sep="|")
combined = [*init, *middle, *letters()]
print(combined)
merged = {**table("ab"), **table("cde")}
print(merged)
spread = (*seq(2), *seq(3))
print(spread)
