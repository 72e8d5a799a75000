# autofuture
"""The example from the top of the README: eight one-second tasks.

Each call of ``slow_square`` returns a future at once, so all eight run at
the same time on the workers, while the prints still come out in order.

Run it both ways and compare:

    python examples/demo.py                      # about 8 s
    python -m autofuture -n 8 examples/demo.py   # about 1 s, the same output
"""
import time


def slow_square(x: int) -> int:
    time.sleep(1)
    return x * x


for i in range(8):
    r = slow_square(i)      # a future, returned at once
    print(i, r)             # printed in order, as results arrive
