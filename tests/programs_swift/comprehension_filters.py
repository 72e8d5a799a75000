# autofuture
"""Task calls in a comprehension's condition, an inner range from the outer
element, a generator with task calls into sum()."""


def pred(x):
    print("checking", x)
    return x % 3 == 0


def sq(x):
    return x * x


kept = [x for x in range(7) if pred(x)]
print(kept)
tri = [[sq(j) for j in range(i)] for i in range(4)]
print(tri)
total = sum(sq(x) for x in kept if x > 0)
print(total)
