# autofuture
"""Objects reached through attributes: a method that mutates an object held in an
attribute, one that replaces the attribute, and an alias of a nested object, each
read through another name while the mutation waits for a slow task."""
import time


def work(i):
    time.sleep(0.3)
    return i


def total(xs):
    return sum(xs)


def describe(box):
    return f"{box.inner.tags} {box.count}"


class Inner:
    def __init__(self):
        self.tags = []


class Box:
    def __init__(self):
        self.inner = Inner()
        self.count = 0

    def tag(self, v):
        self.inner.tags.append(v)
        self.count += 1

    def reset(self, v):
        self.inner = Inner()
        self.inner.tags.append(v)


box = Box()
inner = box.inner
tags = inner.tags
box.tag(work(5))
print(len(tags), tags, total(tags), inner.tags, box.count)
box.reset(work(7))
print(box.inner.tags, inner.tags, box.inner is inner, describe(box))
box.inner.tags.append(work(8))
print(box.inner.tags[-1], box.count, describe(box))
