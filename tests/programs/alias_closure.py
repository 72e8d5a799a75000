# autofuture
"""A list shared through closures: a local closure appends to it while a slow task is
pending; a task that reads the same closure cell, and a plain reader, see it."""
import time

import autofuture


def work(i):
    time.sleep(0.3)
    return i


@autofuture.local
def make_store():
    items = []

    @autofuture.local
    def add(v):
        items.append(v)

    def count():
        return len(items)

    def snapshot():
        return list(items)

    return add, count, snapshot


add, count, snapshot = make_store()
add(work(1))
print(count(), snapshot())
add(work(2))
add(3)
print(count(), snapshot(), len(snapshot()))
