# autofuture
"""Maps whose callee is not a task: a builtin, a local helper that prints, a class, a
method and a function of an unmarked module, each a call in order as Python makes it;
then a callee that changes between elements."""
import math

import autofuture


@autofuture.local
def note(i):
    print("note", i)
    return i


class Box:
    def __init__(self, v):
        self.v = v

    def __repr__(self):
        return f"Box({self.v})"


def work(i):
    print("work", i)
    return -i


def other(i):
    print("other", i)
    return i * 100


print([abs(i) for i in range(-3, 3)])
print([note(i) for i in range(4)])
print([Box(i) for i in range(3)])
print([math.sqrt(i) for i in (1, 4, 9)])
print([repr(b) for b in [Box(1), Box(2)]])
ws = [work(i) for i in range(30)]
if sum(ws) != -435:  # waits: the runtime knows work's time per element from here
    raise SystemExit("wrong")
print(sum(ws))
print([work(i) for i in range(40)][::13])
print([g(i) for g in (work, other, work, note, other) for i in range(1)])
print([f(7) for f in [work, other, work, work, other, note]])
