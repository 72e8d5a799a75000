# autofuture
"""try/except/else/finally around failing and succeeding tasks; handlers see the message."""


def risky(x):
    if x < 0:
        raise ValueError(f"negative input: {x}")
    return x * 2


def parse(s):
    return int(s)


def ratio(a, b):
    return a / b


print("start")
try:
    good = risky(4)
    bad = risky(-1)
    print("not reached", good, bad)
except ValueError as e:
    print("caught:", e)
else:
    print("no else")
finally:
    print("finally 1")

try:
    ok = risky(5)
    print("ok", ok)
except ValueError as e:
    print("unexpected", e)
else:
    print("else runs", ok)
finally:
    print("finally 2")

try:
    n = parse("x1")
    print("parsed", n)
except (TypeError, ValueError) as e:
    print(type(e).__name__, e)

try:
    try:
        r = risky(-2)
        print("inner", r)
    finally:
        print("inner finally")
except ValueError as e:
    print("outer caught:", e)

try:
    q = ratio(1, 0)
    print("ratio", q)
except Exception as e:
    fallback = risky(1)
    print("fallback after", type(e).__name__, fallback)
print("ok is still", ok, "fallback is", fallback)
