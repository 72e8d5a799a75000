# autofuture
"""sys.exit(n) after some prints: the exit status is n, nothing after it is printed."""
import sys


def compute(i):
    return i * 7


for i in range(3):
    print("value", compute(i))
status = compute(0) + 3
print("exiting with", status)
sys.exit(status)
print("never")
