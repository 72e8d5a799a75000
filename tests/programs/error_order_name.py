# autofuture
"""The first error in program order wins: a slow failing task before a NameError."""
import time


def slow_fail():
    time.sleep(0.3)
    raise RuntimeError("the earlier task's error wins")


def fine():
    return 1


print("start", fine())
a = slow_fail()
print("between")
print(undefined_name)  # noqa: F821
print("never", a)
