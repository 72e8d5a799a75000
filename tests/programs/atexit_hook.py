# autofuture
"""atexit handlers registered with task results run at exit, after everything else."""
import atexit


def compute(x):
    return x * 11


def goodbye(value, label):
    print("goodbye", label, value)


atexit.register(goodbye, compute(3), label="first registered")
atexit.register(print, "runs first at exit:", compute(4))
print("main body done", compute(5))
