# autofuture
"""Unpacking with the wrong count: one caught ValueError, then an uncaught one."""


def foo(x):
    return (1, 2, 3) if x else 5


try:
    w, x, y, z = foo(1)
    print("not reached", w, x, y, z)
except ValueError as e:
    print("caught:", e)
print("next")
a, b = foo(1)
print("never", a, b)
