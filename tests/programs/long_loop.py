# autofuture
"""A long loop of tiny tasks and prints: more calls than any look-ahead window."""


def tiny(i):
    return (i * 7919) % 1009


for i in range(1500):
    print(i, tiny(i))
print("total", sum([tiny(i) for i in range(1500)]))
