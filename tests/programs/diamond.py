# autofuture
"""Chains and diamonds of dependent tasks."""


def source():
    return 1


def left(x):
    return x + 10


def right(x):
    return x * 3


def join(a, b):
    return a * 100 + b


def inc(x):
    return x + 1


top = source()
lhs = left(top)
rhs = right(top)
bottom = join(lhs, rhs)
print(bottom)
chain = [source()]
for i in range(10):
    chain.append(inc(chain[-1]))
print(chain[-1], chain)
deep = inc(inc(inc(inc(top))))
print(deep)
wide = join(left(bottom), right(bottom))
print(wide)
