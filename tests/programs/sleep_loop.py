# autofuture
"""SPEC §1: a loop of slow task calls, each printed in order as results arrive."""
import time


def slow_square(x: int) -> int:
    time.sleep(0.05)
    return x * x


for i in range(8):
    r = slow_square(i)
    print(i, r)
print("done")
