# autofuture
"""Closures returned by tasks, called later; tasks reading plain module globals."""


def make_adder(n):
    def add(x):
        return x + n

    return add


def apply(f, x):
    return f(x)


BASE = 100


def offset(x):
    return x + BASE


add3 = make_adder(3)
print(add3(4))
print(apply(add3, 10))
print([make_adder(i)(1) for i in range(3)])
print(offset(1))
