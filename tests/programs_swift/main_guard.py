# autofuture
"""The main idiom; a task that calls another function of the script inside it."""
import math


def norm(v: list) -> float:
    return math.sqrt(sum(x * x for x in v))


def unit(v: list) -> list:
    n = norm(v)
    return [round(x / n, 6) for x in v]


if __name__ == "__main__":
    import statistics

    vectors = [[3, 4], [1, 1], [5, 12], [8, 15]]
    norms = [norm(v) for v in vectors]
    print("norms", norms)
    units = [unit(v) for v in vectors]
    for v, u in zip(vectors, units):
        print(v, "->", u)
    print("largest", max(norms), "pi-ish", round(math.pi, 4))
    print("mean norm", statistics.mean(norms))
