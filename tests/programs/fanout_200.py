# autofuture
"""A fan-out of 200 tiny tasks, summed as a list and as a generator."""


def tiny(i):
    return i * i % 7


values = [tiny(i) for i in range(200)]
print(sum(values))
print(sum(tiny(i) for i in range(200)))
print(values[:10], values[-3:])
print(len(values), values.count(0))
