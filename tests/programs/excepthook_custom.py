# autofuture
"""A program that installs its own sys.excepthook: the error that ends it goes through
that hook, as in the plain run."""
import sys


def hook(kind, value, tb):
    print(f"hook: {kind.__name__}: {value} (line {tb.tb_lineno})", file=sys.stderr)


sys.excepthook = hook


def fail(x):
    raise ValueError(f"bad {x}")


print("start")
r = fail(1)
print("never", r)
