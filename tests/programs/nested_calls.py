# autofuture
"""Tasks calling other functions of the program, and recursion, inside one task."""


def inner(x):
    return x + 1


def outer(x):
    return inner(x) * 2


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


print(outer(3), outer(outer(1)))
print([fib(i) for i in range(15)])
print(inner(fib(10)))
