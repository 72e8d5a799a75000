# autofuture
"""Tasks that return nested lists and dicts; iterating over a task's result."""


def grid(n: int) -> list:
    return [[row * n + col for col in range(n)] for row in range(n)]


def row_total(row: list) -> int:
    return sum(row)


def describe(cells: list) -> dict:
    return {"rows": len(cells), "cells": sum(len(r) for r in cells), "corner": cells[-1][-1]}


g = grid(4)
print("grid", g)
totals = [row_total(r) for r in g]
print("totals", totals)
for row in g:
    print("row", row, "->", row_total(row))
info = describe(g)
print(info["rows"], info["cells"], info["corner"])
print("diagonal", [g[i][i] for i in range(len(g))])
