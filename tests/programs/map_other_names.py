# autofuture
"""A map's element using other names and constants than its target, and a name
bound to a future: the future is a dependency (that element is a call as any other)."""


def scale(x, factor, tag, extra):
    return f"{tag}:{x * factor}:{extra}"


def seed():
    return 10


factor = 3
tag = "s"
warm = [scale(i, factor, tag, None) for i in range(20)]
if len(warm[0]) < 0:  # waits: the runtime knows scale's time per element from here
    raise SystemExit("wrong")
print(warm[:3])
many = [scale(i, factor, "const", b"b") for i in range(200)]
print(many[0], many[-1], len(many))
base = seed()
fromfuture = [scale(i, base, tag, 1.5) for i in range(50)]
print(fromfuture[:2], fromfuture[-1])
