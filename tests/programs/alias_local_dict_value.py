# autofuture
"""Issue 13's @autofuture.local twin: a local helper appends to a list held in a dict
argument, two levels down; the list read through another name sees it."""
import time

import autofuture


def work(i):
    time.sleep(0.3)
    return i


def size(xs):
    return len(xs)


@autofuture.local
def fill(d, v):
    d["a"].append(v)


data = {"a": [], "b": [0]}
part = data["a"]
fill(data, work(2))
print(len(part), size(part), part)
nested = {"outer": {"inner": []}}
inner = nested["outer"]["inner"]
fill(nested["outer"], work(3))
print(len(nested["outer"]["inner"]), inner, size(inner), sorted(inner))
