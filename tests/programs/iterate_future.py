# autofuture
"""for loops over futures of unknown length (lists, dict items, strings, ranges)."""


def items(n):
    return list(range(n))


def table():
    return {"b": 2, "a": 1, "c": 3}


def word():
    return "abc"


def sq(x):
    return x * x


for x in items(4):
    print("x", x, sq(x))
for k, v in sorted(table().items()):
    print(k, v, sq(v))
for i, ch in enumerate(word()):
    print(i, ch)
for n in range(sq(2)):
    print("n", n)
print(list(zip(word(), items(3))))
