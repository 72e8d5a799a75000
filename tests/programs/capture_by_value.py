# autofuture
"""Task inputs (arguments and module globals) are captured as of the call's position."""

config = {"scale": 2}


class Holder:
    def __init__(self, value):
        self.value = value


def scaled(x):
    return x * config["scale"]


def length(items):
    return len(items)


def total(items):
    return sum(items)


def read(holder):
    return holder.value


items = [1, 2, 3]
n_before = length(items)
sum_before = total(items)
items.append(4)
n_after = length(items)
print(n_before, n_after, sum_before)
a = scaled(3)
config["scale"] = 10
b = scaled(3)
print(a, b)
h = Holder(1)
first = read(h)
h.value = 2
second = read(h)
print(first, second)
items.append(total(items))
print(items, length(items))
