# autofuture
"""A failing task with dependents: the root error is reported, never the dependents'."""


def root():
    raise OSError("root failed")


def child(x):
    return x + 1


def grandchild(x):
    return x * 2


def unrelated():
    return "fine"


print("start")
base = root()
mid = child(base)
leaf = grandchild(mid)
other = unrelated()
print("leaf", leaf, other)
