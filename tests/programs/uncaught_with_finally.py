# autofuture
"""An uncaught task error inside try/finally: the finally block's output, then the traceback."""
import sys


def fail(x):
    raise IndexError(f"index {x} out of range")


def fine(x):
    return x


print("start", fine(1))
try:
    v = fail(7)
    print("not reached", v)
finally:
    print("cleanup runs", fine(2))
    print("cleanup on stderr", file=sys.stderr)
print("never")
