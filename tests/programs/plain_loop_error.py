# autofuture
"""An error in a loop body run as written, before any task: the traceback and
its carets are Python's own, and the output before it appears."""
points = [(i, i * i) for i in range(5)]
table = {}
for i in range(8):
    x, y = points[i]
    table[x] = y + points[i][1]
    print("row", i, table[x])
print("never")
