# autofuture
"""A map-shaped comprehension whose callee is not a task fails in a local call: the
traceback is the plain run's, through the comprehension's frame, with no frame of
autofuture's own; earlier task output shows first."""
import autofuture


def work(i):
    print("work", i)
    return i


@autofuture.local
def check(i):
    if i == 2:
        raise KeyError(f"no {i}")
    return i


done = [work(i) for i in range(5)]
print("parsed", [int(s) for s in ("1", "2", "3")])
print("checked", [check(i) for i in range(2)])
bad = [check(i) for i in range(4)]
print("never", bad)
