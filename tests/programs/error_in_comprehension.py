# autofuture
"""A task failing inside a list comprehension: the comprehension's frame is in the traceback."""


def check(i):
    if i == 3:
        raise ArithmeticError(f"item {i} is bad")
    return i


print("before")
good = [check(i) for i in range(3)]
print("good", good)
bad = [check(i) for i in range(6)]
print("never", bad)
