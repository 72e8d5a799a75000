# autofuture
"""A map over a generator with side effects (it records each step), over a list the
program changes after the map, and over a tuple: each task sees its element as of its
call, and the generator is stepped as in the plain run.

(The generator does not print: prints made while a comprehension steps a generator go
out before earlier tasks' output, with or without maps; see the maps helper's report.)"""

seen = []


def source(n):
    for i in range(n):
        seen.append(i)
        yield i


def square(x):
    print("square", x)
    return x * x


a = [square(x) for x in source(5)]
print("a", a, len(seen))
items = [3, 1, 4, 1, 5]
b = [square(x) for x in items]
items.append(9)
print("b", b, items)
c = [square(x) for x in (2, 7)]
print("c", c)
d = [square(x) for x in source(30)]
print("d", sum(d), len(seen))
e = [square(x) for x in range(3)]
print("e", e)
