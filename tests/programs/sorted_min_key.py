# autofuture
"""sorted(), min() and max() with key functions over lists of futures."""
import operator


def score(name):
    return sum(ord(c) for c in name) % 17


def record(name):
    return (name, score(name))


names = ["delta", "alpha", "charlie", "bravo", "echo"]
scores = [score(n) for n in names]
print(scores)
print(sorted(scores), min(scores), max(scores))
records = [record(n) for n in names]
print(sorted(records, key=operator.itemgetter(1)))
print(min(records, key=lambda r: r[1]))
print(max(records, key=lambda r: (r[1], r[0])))
print(sorted(records, key=lambda r: r[0], reverse=True))
print(sorted(zip(scores, names)))
print(sorted(range(len(names)), key=lambda i: scores[i]))
