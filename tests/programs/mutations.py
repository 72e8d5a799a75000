# autofuture
"""Mutations of lists, dicts and objects interleaved with prints, in program order."""


def task(i):
    return i * 10


class Counter:
    def __init__(self):
        self.hits = 0
        self.last = None

    def __repr__(self):
        return f"Counter(hits={self.hits}, last={self.last!r})"


lst = []
d = {"count": 0}
ctr = Counter()
for i in range(4):
    lst.append(task(i))
    print("lst now", lst)
    d[f"k{i}"] = task(i + 100)
    d["count"] += 1
    print("d now", d)
    ctr.hits += 1
    ctr.last = task(i)
    print(ctr)
lst.extend([task(7), task(8)])
lst.insert(0, task(-1))
print(lst, len(lst))
lst.sort(reverse=True)
print(lst)
popped = lst.pop()
print(popped, lst)
d.update({"extra": task(9)})
removed = d.pop("k0")
print(removed, sorted(d.items()))
lst[0] = task(1000)
lst[1] += 5
print(lst)
ctr.hits *= 10
print(ctr.hits, ctr)
matrix = [[0, 0], [0, 0]]
matrix[1][0] = task(3)
matrix[0][1] += task(4)
print(matrix)
