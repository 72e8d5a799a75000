# autofuture
"""NameErrors raised in tasks: Python's hint comes from the names the task's frame could
see: its locals, the module's globals (those the function never reads too) and builtins."""
import traceback

threshold = 10


def scaled(values):
    factor = 3
    return [v * factorr for v in values]


def count_above(values):
    return sum(1 for v in values if v > threshhold)


try:
    s = scaled([1, 2])
    print("not reached", s)
except NameError as e:
    print("caught:", e)
    traceback.print_exception(e)
print("counted", len(scaled([])))
above = count_above([5, 15, 25])
print("never", above)
