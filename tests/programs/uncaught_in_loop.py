# autofuture
"""An uncaught task error in the middle of a loop of prints."""


def check(i):
    return 100 // (5 - i)


for i in range(10):
    print("item", i, check(i))
print("unreachable")
