# autofuture
"""Tasks reading module globals (and defaults) that are themselves futures."""


def load():
    return [10, 20, 30, 40, 50]


def factor():
    return 3


data = load()
FACTOR = factor()


def use(i):
    return data[i]


def scale(x, k=FACTOR):
    return x * k


def both(i):
    return use(i) + scale(1)


picked = [use(i) for i in range(5)]
print(picked)
print(scale(2), scale(2, k=10))
print(both(4))
print(data[1], len(data), FACTOR)
