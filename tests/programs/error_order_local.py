# autofuture
"""The first error in program order wins: a slow failing task before a local error."""
import time


def slow_fail():
    time.sleep(0.3)
    raise RuntimeError("the earlier task's error wins")


print("start")
a = slow_fail()
print("between")
b = int("not a number")
print("never", a, b)
