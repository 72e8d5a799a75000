# autofuture
"""Loops that run before the program's first task: their bodies run as written
(language/plainloop.py) while no future exists and no callee is a task; calls of
a class or of an unmarked module's function go through the runtime there. A loop
that calls a task is rewritten from its first iteration (its tasks run in
parallel, their output in program order, their inputs taken as of the call), and
every loop after the first task is rewritten."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "helpers"))
import plainmath  # noqa: E402


class Counter:
    def __init__(self):
        self.seen = []

    def note(self, value):
        self.seen.append(value)
        return len(self.seen)


class Pair:
    def __init__(self, left, right):
        self.left = left
        self.right = right


def work(items):
    print("work sees", items)
    print("work on stderr", len(items), file=sys.stderr)
    return sum(items) * 10


values = []
tally = {}
labels = []
pairs = []
for i in range(12):
    if i % 5 == 4:
        continue
    y = plainmath.double(i) + i
    values.append(y)
    tally[i % 4] = y
    labels.append(f"{i}:{y:>3}")
    pairs.append(Pair(i, y))
    print("step", i, len(values), sorted(tally.items()), pairs[-1].right)
    if i == 10:
        break
print(values, labels[-1], [p.left for p in pairs])
counter = Counter()
for i in range(3):
    print("noted", counter.note(i * i), counter.seen)
for j in range(4):
    data = [j, j + 1]
    total = work(data)
    data.append(100)
    print("after work", j, total, data, file=sys.stderr if j % 2 else sys.stdout)
    values.append(total)
print(sum(values), len(values))
for k in range(3):
    values.append(plainmath.double(k))
    print("later", k, values[-1])
