# autofuture
"""Fan-out over a list, fan-in with the built-in reductions."""


def score(word: str) -> int:
    return sum(ord(c) for c in word) % 97


def combine(scores: list) -> dict:
    return {"total": sum(scores), "best": max(scores), "worst": min(scores)}


words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
scores = [score(w) for w in words]
print("scores:", scores)
print("sum", sum(scores), "max", max(scores), "min", min(scores), "len", len(scores))
summary = combine(scores)
print("summary:", summary)
print("best word:", words[scores.index(summary["best"])])
