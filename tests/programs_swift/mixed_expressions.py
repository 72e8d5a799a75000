# autofuture
"""Keywords, starred arguments, slices, dict iteration, tests on task results."""


def add(a: int, b: int = 0, *more: int) -> int:
    return a + b + sum(more)


def span(n: int) -> list:
    return list(range(n))


def pairs(n: int) -> dict:
    return {f"k{i}": i * i for i in range(n)}


base = add(10)
opts = {"b": 5}
print(add(1, **opts), add(*[1, 2, 3, 4]), add(a=2, b=3), sep="")
for x in span(add(2, 1)):
    if add(x) % 2 == 0:
        kind = "even"
        shifted = add(x, base)
    else:
        kind = "odd"
        shifted = -add(x)
    print(x, kind, shifted, 1 < shifted <= 12)
d = pairs(4)
for k in d:
    print(k, d[k], d.get(k, 0) > 3 and "big" or "small")
for k, v in d.items():
    print("item", k, v)
xs = span(6)
print(xs[1:3], xs[-1], xs[::2], [add(a, b) for a, b in zip(xs, xs[1:])])
words = "the quick brown fox".split()
print("-".join(words), sorted(words, key=len), [add(len(w), base) for w in words if len(w) > 3])
print(None, True and base, not base, {1, 2} | {3})
