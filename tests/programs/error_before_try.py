# autofuture
"""A task that fails before a try must not be caught by that try's handler."""


def fail(x):
    raise RuntimeError(f"early failure {x}")


def fine(x):
    return x


print("before")
early = fail(1)
print("between")
try:
    later = fine(2)
    print("in try", later)
except RuntimeError as e:
    print("wrongly caught", e)
print("end", early)
