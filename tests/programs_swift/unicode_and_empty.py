# autofuture
"""Text beyond ASCII, and a string that looks like a splice: __af_splice_0__."""


def greet(name: str) -> str:
    return f"héllo {name} ☃"


def empty() -> list:
    return []


g = greet("wörld")
print(g, "ünïcode", len(g))
print([greet(n) for n in ["ä", "ß"]])
print("__af_splice_0__", f"{g}!")
for x in empty():
    print("never", x)
print("after empty loop", [greet(x) for x in empty()])
