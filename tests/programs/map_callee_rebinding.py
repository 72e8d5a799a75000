# autofuture
"""The name a map calls is rebound by one of its own elements (a local helper writing a
module global): the elements after it call the new function, as in the plain run."""
import autofuture


def task(i):
    print("task", i)
    return i * i


@autofuture.local
def h(i):
    global h
    print("local", i)
    if i == 2:
        h = task
    return i


warm = [task(i) for i in range(20)]
if sum(warm) != 2470:  # waits: the runtime knows task's time per element from here
    raise SystemExit("wrong")
out = [h(i) for i in range(8)]
print(out)
