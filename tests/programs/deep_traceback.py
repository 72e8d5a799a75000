# autofuture
"""An error raised several calls deep inside a task: every frame is in the traceback."""


def level3(x):
    return {"a": 1}[x]


def level2(x):
    return level3(x) + 1


def level1(x):
    return level2(x) * 2


print("ok", level1("a"))
print("start failing")
print(level1("b"))
print("unreachable")
