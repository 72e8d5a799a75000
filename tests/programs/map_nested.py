# autofuture
"""Nested comprehensions whose inner one is a map, and a map inside a workflow function
called from a map's element."""
import autofuture


def cell(x, y):
    return x * 10 + y


@autofuture.workflow
def row(n):
    values = [cell(n, y) for y in range(4)]
    return sum(values)


warm = [cell(0, y) for y in range(20)]
if sum(warm) != 190:  # waits: the runtime knows cell's time per element from here
    raise SystemExit("wrong")
grid = [[cell(x, y) for y in range(5)] for x in range(4)]
print(grid)
rows = [row(n) for n in range(5)]
print(rows)
big = [[cell(x, y) for y in range(60)] for x in range(30)]
print(sum(sum(r) for r in big))
