# autofuture
"""`is None` / `is not None` on futures, in tests and as values."""


def maybe(x):
    return None if x % 2 else x


def find(items, target):
    for i, v in enumerate(items):
        if v == target:
            return i
    return None


for i in range(4):
    r = maybe(i)
    if r is None:
        print(i, "-> None")
    else:
        print(i, "->", r)
hit = find([3, 1, 4], 4)
miss = find([3, 1, 4], 9)
print(hit is None, hit is not None, miss is None, miss is not None)
print(hit, miss)
print("miss default:", miss if miss is not None else -1)
print([maybe(i) is None for i in range(4)])
