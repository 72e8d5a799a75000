# autofuture
"""f-strings on futures: format specs, conversions, nested specs, `=`, and other formatting."""


def value(x):
    return x * 1.5


def name(i):
    return f"item{i}"


def width():
    return 10


def count():
    return 42


v = value(3)
n = name(7)
w = width()
c = count()
print(f"{v:>8.3f}|")
print(f"{n!r} {n!s:^12}|{n!a}")
print(f"{c:05d} {c:x} {c:#o} {c:,} {c:+}")
print(f"{v:{w}.2f}|{n:>{w}}|")
print(f"{v=}")
print(f"{c = }")
print(f"{n.upper()} {len(n)} {c + 1} {n[-1]}")
print(f"{v!r:>10}|")
print(f"{'nested ' + n}")
print(format(c, "08b"), format(v, ".2e"))
print("%s has %d" % (n, c))
print("{} / {:.1f}".format(n, v))
print(f"{[value(i) for i in range(3)]}")
msg = f"total={c * 2}"
print(msg, len(msg), msg.split("="))
