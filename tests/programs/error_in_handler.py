# autofuture
"""A task that fails while the workflow handles another error: the plain run prints the
whole chain, the task's own links and then the handled error ('During handling of the
above exception, another exception occurred')."""


def lookup(table, key):
    return table[key]


def fallback(defaults, key):
    try:
        return defaults[key.upper()]
    except KeyError:
        raise ValueError(f"no fallback for {key!r}")


table = {"a": 1}
print(lookup(table, "a"))
try:
    v = lookup(table, "b")
    print("not reached", v)
except KeyError:
    w = fallback({"A": 0}, "b")
    print("never", w)
