# autofuture
"""A task failing inside a generator expression consumed by sum()."""


def check(i):
    return 10 // (4 - i)


print("sum ok", sum(check(i) for i in range(3)))
print("sum bad", sum(check(i) for i in range(8)))
