# autofuture
"""Output after a task call that fails never appears, on stdout or stderr."""
import sys


def explode(n):
    raise KeyError(f"missing {n}")


def fine(n):
    return n + 1


a = fine(1)
print("a is", a)
print("to stderr before", file=sys.stderr)
b = explode(2)
print("after the failing call")
print("b is", b, file=sys.stderr)
c = fine(b)
print("c is", c)
