# autofuture
"""`with` blocks whose __exit__ sees (and may swallow) errors of tasks called inside."""
import contextlib


class Recorder:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        print("enter", self.name)
        return self

    def __exit__(self, exc_type, exc, tb):
        print("exit", self.name, exc_type.__name__ if exc_type else None, exc)
        return exc_type is ValueError


def fail(msg):
    raise ValueError(msg)


def ok(x):
    return x * 2


def make_recorder(name):
    return Recorder(name)


with Recorder("first") as rec:
    print("inside", rec.name, ok(1))
with Recorder("second"):
    bad = fail("swallowed by __exit__")
    print("not reached", bad)
with contextlib.suppress(ValueError):
    worse = fail("suppressed")
    print("not reached", worse)
with make_recorder("from a task") as rec:
    print("inside", rec.name, ok(2))
print("after", ok(3))
