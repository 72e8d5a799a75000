# autofuture
"""Attributes of returned objects are read lazily, even when named like Future methods."""
import collections
import dataclasses

import autofuture


@dataclasses.dataclass
class Point:
    x: float
    y: float

    def norm2(self):
        return self.x**2 + self.y**2


@dataclasses.dataclass
class Outcome:
    result: int
    done: bool
    exception: str
    running: list


Stats = collections.namedtuple("Stats", ["mean", "total"])


class Box:
    def __init__(self, value):
        self.value = value
        self.cancel = "not a method"
        self.add_done_callback = None


def make_point(i):
    return Point(i, i + 1)


def make_outcome(n):
    return Outcome(result=n * 2, done=n > 1, exception="none", running=[n])


def make_stats(xs):
    return Stats(sum(xs) / len(xs), sum(xs))


def make_box(v):
    return Box(v)


pt = make_point(3)
print(pt.x, pt.y)
print(pt.norm2())
print(pt)
out = make_outcome(5)
print(out.result, out.done, out.exception, out.running)
print(out.result + 1, not out.done)
out.running.append(7)
print(out.running, len(out.running))
print(autofuture.result(out).result)
st = make_stats([1, 2, 3, 4])
print(st.mean, st.total, st[0], st._fields)
bx = make_box("v")
print(bx.value, bx.cancel, bx.add_done_callback)
nested = make_point(make_outcome(2).result)
print(nested, nested.x)
