# autofuture
"""A task error caught and re-raised `from` it: the chained traceback matches."""


def fetch(key):
    return {"x": 1}[key]


print("fetch x", fetch("x"))
try:
    value = fetch("y")
    print("not reached", value)
except KeyError as e:
    print("wrapping", repr(e))
    raise RuntimeError(f"could not fetch: {e}") from e
