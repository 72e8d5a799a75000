# autofuture
"""Futures nested in lists, tuples, dicts and sets, passed to tasks and to local calls."""
import autofuture


def sq(x):
    return x * x


def total(obj):
    """Sum every number in a nested structure (runs as one task)."""
    if isinstance(obj, dict):
        return sum(total(v) for v in obj.values())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return sum(total(v) for v in obj)
    if not isinstance(obj, int):
        raise TypeError(f"task got {type(obj).__name__}, not a value")
    return obj


@autofuture.local
def describe(obj):
    """Canonical text of a nested structure; fails loudly on anything but values."""
    if isinstance(obj, dict):
        items = sorted(obj.items(), key=lambda kv: repr(kv[0]))
        return "{" + ", ".join(f"{describe(k)}: {describe(v)}" for k, v in items) + "}"
    if isinstance(obj, list):
        return "[" + ", ".join(describe(v) for v in obj) + "]"
    if isinstance(obj, tuple):
        return "(" + ", ".join(describe(v) for v in obj) + ")"
    if isinstance(obj, (set, frozenset)):
        return type(obj).__name__ + "{" + ", ".join(sorted(describe(v) for v in obj)) + "}"
    if isinstance(obj, (int, str)):
        return repr(obj)
    raise TypeError(f"local call got {type(obj).__name__}, not a value")


nest = {
    "a": [sq(1), (sq(2), {"b": sq(3)})],
    "c": {sq(4), sq(5)},
    "d": ([[sq(6)]], frozenset([sq(7)])),
}
print(total(nest))
print(describe(nest))
print(nest["a"][1][1]["b"], len(nest["a"]), nest["d"][0][0][0])
keyed = {(sq(1), sq(2)): "pair", sq(3): "nine"}
print(describe(keyed))
print(total([nest["a"], [sq(8), (sq(9),)]]))
print(sorted([sq(3), sq(1), sq(2)]))
print(nest)
