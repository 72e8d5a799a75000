# autofuture
"""Keyword arguments, defaults, *args, **kwargs, positional- and keyword-only parameters."""


def kw(a, b=2, *args, c, d=4, **kwargs):
    return f"a={a} b={b} args={args} c={c} d={d} kwargs={sorted(kwargs.items())}"


def posonly(x, y, /, z=0):
    return x * 100 + y * 10 + z


def star_only(*, key):
    return key.upper()


def val(x):
    return x


print(kw(1, c=3))
print(kw(val(1), val(2), val(5), val(6), c=val(3), e=val(7)))
args = [val(10), val(20), val(30)]
print(kw(*args, c=0))
opts = {"c": val(8), "d": val(9), "zz": val(0)}
print(kw(0, **opts))
print(posonly(val(1), 2, z=val(3)))
print(posonly(*[val(4), val(5)]))
print(star_only(key=val("k")))
print(kw(1, *(val(2),), c=3, **{"x": val(4)}))
try:
    missing = kw()
    print("not reached", missing)
except TypeError as e:
    print("TypeError:", e)
