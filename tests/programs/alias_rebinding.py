# autofuture
"""Names rebound by local code while a slow task is pending: a helper with `global`,
a closure with `nonlocal`, and a loop over a list that its own body extends. Later
lines, tasks and the loop see the new bindings and items, as in the plain run."""
import time

import autofuture

MODE = "start"


def work(i):
    time.sleep(0.3)
    return i


def mode_now():
    return MODE


@autofuture.local
def switch(mode):
    global MODE
    MODE = mode


@autofuture.local
def make_counter():
    count = 0

    @autofuture.local
    def bump(by):
        nonlocal count
        count = count + by

    def read():
        return count

    return bump, read


bump, read = make_counter()
switch(work("fast"))
print(MODE, mode_now())
bump(work(2))
print(read())
queue = [1]
for item in queue:
    if item < 3:
        queue.append(work(item + 1))
    print("item", item)
print(queue)
