# autofuture
"""Loops after the program's first task. A body runs as written when, looked at
before its loop, nothing is pending, every callee is C code and nothing it reads
holds a future or runs Python code to be read (runtime/plainbody.py's ``look``);
otherwise it is rewritten. Either way each loop prints what plain Python prints."""
import math
import sys


class Record:
    def __init__(self, kind, value):
        self.kind = kind
        self.value = value


class Shape:  # a method: its instances are not looked through
    def __init__(self, side):
        self.side = side

    def area(self):
        return self.side * self.side


def square(x):
    print("square of", x)
    return x * x


def noisy(label):
    print("noisy", label)
    print("noisy on stderr", label, file=sys.stderr)
    return label


records = [Record("abcd"[i % 4], (i * 37) % 101) for i in range(40)]
first = square(3)
if first != 9:  # waits: nothing is pending after it
    raise SystemExit(first)
print("first", first)

# Plain values only, nothing pending: as written.
counts = {}
scored = []
for i in range(40):
    rec = records[i]
    score = abs(rec.value - 50) * 2 + i % 7
    counts[rec.kind] = counts.get(rec.kind, 0) + 1
    scored.append((rec.kind, score))
print(sorted(counts.items()), scored[:3], len(scored))

# A list holding futures, a record holding one, a dict of them: rewritten.
results = [square(i) for i in range(3)]
for i in range(3):
    print("result", i, results[i] + 1)
holder = Record("f", square(4))
for i in range(2):
    print("holder", holder.value + i, holder.kind)
table = {k: square(k + 5) for k in range(2)}
for k in range(2):
    print("table", k, table[k] - 1)
for value in results:
    print("value", value * 2)

# A task still running, printing: the loop's lines come after its own.
pending = noisy("before the loop")
for i in range(3):
    print("loop", i)
print("pending", pending)

# Loop variables that are not scalars; an instance with a method; a module's function.
for kind, n in sorted(counts.items()):
    print("count", kind, n)
shapes = [Shape(2), Shape(3)]
for i in range(2):
    print("shape", shapes[i].side)
for i in range(3):
    print("root", math.sqrt(i * i + first))

# continue and break in a body as written.
kept = []
for i in range(10):
    if i % 3 == 0:
        continue
    kept.append(i)
    if sum(kept) > 20:
        break
print("kept", kept)

# The same loop entered twice, its names holding plain values, then a future.
for round_ in range(2):
    source = records if round_ == 0 else [Record("z", square(round_ + 10))]
    acc = []
    for i in range(3 if round_ == 0 else 1):
        acc.append(source[i].value)
    print("round", round_, acc)

# An error in a body as written, once futures exist: Python's own traceback.
zero = square(0)
if zero != 0:  # waits, as above
    raise SystemExit(zero)
divisors = [1, 2, zero - zero]
for i in range(3):
    print("inverse", 10 // divisors[i])
