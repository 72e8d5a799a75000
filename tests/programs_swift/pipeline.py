# autofuture
"""A three-stage pipeline: generate, transform the kept ones, aggregate."""


def generate(seed: int) -> list:
    return [(seed * 7 + i * 13) % 50 for i in range(6)]


def transform(x: int) -> int:
    return x * 3 + 1


def aggregate(parts: list) -> dict:
    flat = [x for part in parts for x in part]
    return {"count": len(flat), "total": sum(flat), "max": max(flat)}


batches = [generate(s) for s in range(3)]
print("batches", batches)
kept = [[transform(x) for x in batch if x % 2 == 0] for batch in batches]
print("kept", kept)
summary = aggregate(kept)
print("summary", summary)
if summary["count"] > 5:
    print("many kept:", summary["count"])
else:
    print("few kept")
