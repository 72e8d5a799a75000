# autofuture
"""Arguments that are mutable objects, mutated right after the map: each task sees its
argument as of its call. Atoms and lists mixed in one map: slices close and reopen."""


def total(row):
    print("total", row)
    return sum(row) if isinstance(row, list) else row


def size(x):
    return len(x) if isinstance(x, (list, dict)) else -1


warm = [size(i) for i in range(30)]
if sum(warm) != -30:
    raise SystemExit("wrong warm-up")
rows = [[i, i + 1] for i in range(6)]
sums = [total(r) for r in rows]
rows[0].append(100)
rows[5].clear()
print("sums", sums)
print("rows", rows)
mixed = [1, 2, [3, 4], 5, {"k": 1}, 6, 7]
sizes = [size(m) for m in mixed]
mixed[2].append(0)
mixed[4]["j"] = 2
print("sizes", sizes, mixed)
many = [size(m) for m in mixed * 40]
print("many", sum(many), len(many))
