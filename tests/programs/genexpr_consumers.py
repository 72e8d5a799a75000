# autofuture
"""Generator expressions over task calls consumed by sum, max, min, any, all, sorted, join."""


def sq(x):
    return x * x


def neg(x):
    return -x


print(sum(sq(i) for i in range(10)))
print(max(sq(i) for i in range(5)))
print(min(neg(i) for i in range(5)))
print(sum((sq(i) for i in range(4)), 100))
print(any(sq(i) > 10 for i in range(5)), any(sq(i) > 100 for i in range(5)))
print(all(sq(i) >= 0 for i in range(5)), all(sq(i) > 0 for i in range(5)))
print(sorted(neg(i) for i in range(4)))
print(list(sq(i) for i in range(3)))
print(tuple(sq(i) + 1 for i in range(3)))
print(", ".join(str(sq(i)) for i in range(4)))
print(max((sq(i) for i in range(6)), key=lambda v: -abs(v - 10)))
print(sum(sq(i) for i in range(5) if i % 2 == 0))
print(dict((i, sq(i)) for i in range(3)))
