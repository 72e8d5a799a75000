# autofuture
"""@autofuture.workflow functions under the __main__ guard, one calling another."""
import autofuture


def double(x):
    return 2 * x


def add(a, b):
    return a + b


@autofuture.workflow
def stage(n):
    parts = [double(i) for i in range(n)]
    total = sum(parts)
    print("stage", n, parts, total)
    return total


@autofuture.workflow
def bounds(n):
    values = [double(i) for i in range(n)]
    return min(values), max(values)


def risky(x):
    if x < 0:
        raise ValueError(f"negative: {x}")
    return x


@autofuture.workflow
def safe(x):
    try:
        v = risky(x)
    except ValueError as e:
        return f"recovered from {e}"
    return v


@autofuture.workflow
def main():
    print("main start")
    first = stage(3)
    second = stage(4)
    both = add(first, second)
    print("main", first, second, both)
    lo, hi = bounds(5)
    print("bounds", lo, hi, hi - lo)
    print("safe", safe(3), safe(-3))
    return both


if __name__ == "__main__":
    answer = main()
    print("answer", answer)
