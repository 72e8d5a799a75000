# autofuture
"""A map whose element fails inside a ``try`` body: the handler sees that element's
error (and only it), with the plain run's traceback; the program goes on after it."""
import traceback


def half(i):
    print("half", i)
    if i == 60:
        raise ZeroDivisionError(f"cannot halve {i}")
    return i / 2


warm = [half(i) for i in range(10)]
if sum(warm) != 22.5:
    raise SystemExit("wrong")
try:
    halves = [half(i) for i in range(100)]
    print("never", len(halves))
except ZeroDivisionError as exc:
    print("caught", exc)
    traceback.print_exc()
after = [half(i) for i in range(3)]
print("after", after)
