# autofuture
"""Errors from lazy operations on futures (attribute, index, operator) surface at their line."""


def nothing():
    return None


def three():
    return [1, 2, 3]


print("start")
try:
    missing = three().missing
    print("not reached", missing)
except AttributeError as e:
    print("AttributeError:", e)
try:
    past_end = three()[10]
    print("not reached", past_end)
except IndexError as e:
    print("IndexError:", e)
print("before the bad addition")
total = nothing() + 1
print("after", total)
