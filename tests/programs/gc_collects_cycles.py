# autofuture
# The collector is on while the script runs, as in plain Python (autofuture keeps it
# off while it starts, then enables it): a cycle the script drops is collected, and
# its finalizer prints, at the next collection.
import gc


def square(x):
    return x * x


class Node:
    def __init__(self, name):
        self.name = name
        self.other = self

    def __del__(self):
        print("collected", self.name)


print("enabled", gc.isenabled())
Node("cycle")
print("found", gc.collect() > 0)
print("value", square(7))
