# autofuture
"""Decorated functions: a wrapper defined in the program, functools.wraps, lru_cache."""
import functools


def doubled(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return 2 * fn(*args, **kwargs)

    return wrapper


@doubled
def add(a, b):
    return a + b


@functools.lru_cache(maxsize=None)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


print(add(1, 2), add.__name__, add.__doc__)
print([add(i, i) for i in range(4)])
print(fib(30), [fib(i) for i in range(10)])
print(add(fib(5), b=fib(6)))
