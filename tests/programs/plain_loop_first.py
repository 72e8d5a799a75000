# autofuture
"""Loops that run before the program's first task: their bodies run as written
(language/plainloop.py) until a call in one makes a task, which is waited for at
once; its output comes before what the body prints next, its inputs are taken as
of the call, and later iterations and loops are rewritten as usual."""
import sys


class Counter:
    def __init__(self):
        self.seen = []

    def note(self, value):
        self.seen.append(value)
        return len(self.seen)


def work(items):
    print("work sees", items)
    print("work on stderr", len(items), file=sys.stderr)
    return sum(items) * 10


counter = Counter()
values = []
tally = {}
labels = []
for i in range(12):
    if i % 5 == 4:
        continue
    y = i * 3
    values.append(y)
    tally[i % 4] = y
    labels.append(f"{i}:{y:>3}")
    count = counter.note(y)
    print("step", i, count, len(values), sorted(tally.items()))
    if i == 10:
        break
print(values, labels[-1], counter.seen[-2:])
for j in range(4):
    data = [j, j + 1]
    total = work(data)
    data.append(100)
    print("after work", j, total, data, file=sys.stderr if j % 2 else sys.stdout)
    values.append(total)
print(sum(values), len(values))
later = [work([k]) for k in range(3)]
for k in range(3):
    values.append(later[k] + 1)
    print("later", k, values[-1])
