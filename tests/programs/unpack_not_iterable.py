# autofuture
"""Unpacking a result of the wrong kind fails where it is unpacked, as in plain Python."""


def foo(x):
    return (1, 2, 3) if x else 5


ok1, ok2, ok3 = foo(1)
print("first", ok1, ok2, ok3)
a, b, c = foo(0)
print("never", a, b, c)
