# autofuture
"""List, dict and set comprehensions with task calls, filters on task results, nesting."""


def sq(x):
    return x * x


def label(x):
    return f"L{x}"


def is_even(x):
    return x % 2 == 0


squares = [sq(i) for i in range(6)]
print(squares)
labels = {i: label(i) for i in range(4)}
print(labels)
uniq = {sq(i % 3) for i in range(9)}
print(sorted(uniq), len(uniq))
evens = [i for i in range(8) if is_even(i)]
print(evens)
grid = [[sq(i) + j for j in range(3)] for i in range(3)]
print(grid)
pairs = [(i, sq(i)) for i in range(3)]
print(pairs)
inverted = {v: k for k, v in labels.items()}
print(inverted)
print(sum(squares), len(squares), max(squares))
flat = [sq(x) for row in grid for x in row if x > 1]
print(flat)
