# autofuture
"""A list of lists: a local helper changes a row through the outer list, and the row,
held under another name, is read by a builtin, a task, a slice and a comprehension."""
import time

import autofuture


def work(i):
    time.sleep(0.3)
    return i


def row_sum(row):
    return sum(row)


@autofuture.local
def push(grid, i, v):
    grid[i].append(v)


@autofuture.local
def push_deep(holder, v):
    holder["grid"][0].append(v)


grid = [[1], [2], [3]]
row = grid[1]
push(grid, 1, work(20))
print(len(row), row_sum(row), row[-1], row[:], [x * 2 for x in row])
holder = {"grid": grid}
first = grid[0]
push_deep(holder, work(10))
print(first, row_sum(first), max(first), grid)
