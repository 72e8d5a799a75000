# autofuture
"""A recursive @autofuture.workflow function: nested parallelism, a divide-and-conquer sum."""
import autofuture


def leaf(lo, hi):
    return sum(i * i for i in range(lo, hi))


def add(a, b):
    return a + b


@autofuture.workflow
def tree_sum(lo, hi):
    if hi - lo <= 8:
        return leaf(lo, hi)
    mid = (lo + hi) // 2
    left = tree_sum(lo, mid)
    right = tree_sum(mid, hi)
    return add(left, right)


print(tree_sum(0, 100), sum(i * i for i in range(100)))
print([tree_sum(0, n) for n in (1, 9, 17, 33)])
