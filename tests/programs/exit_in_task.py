# autofuture
"""A task calling sys.exit(4): the program exits with 4 at that call's turn."""
import sys


def work(i):
    return i + 1


def stop(code):
    print("task stopping")
    sys.exit(code)


print("first", work(1))
halt = stop(4)
print("never", halt)
