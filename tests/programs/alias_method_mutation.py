# autofuture
"""Issue 13's program: a method mutates self.items while a slow task it needs is
pending; an alias of that list taken before the call sees the mutation in every read
(a builtin, a task, print), as in the plain run."""
import time


def work(i):
    time.sleep(0.3)
    return i


def size(xs):
    return len(xs)


class Acc:
    def __init__(self):
        self.items = []

    def add(self, v):
        self.items.append(v)


acc = Acc()
alias = acc.items
acc.add(work(1))
print(len(alias), size(alias), alias)
