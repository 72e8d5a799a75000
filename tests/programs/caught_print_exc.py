# autofuture
# A task's error caught by a handler that prints it with traceback.print_exc(): the
# plain run's traceback on every version (3.10 keeps the handled traceback apart).
import traceback


def half(i):
    if i == 3:
        raise ZeroDivisionError(f"cannot halve {i}")
    return i / 2


try:
    x = half(3)
    print("never", x + 1)
except ZeroDivisionError as exc:
    print("caught", exc)
    traceback.print_exc()
print("after")
