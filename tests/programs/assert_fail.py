# autofuture
"""An assert on a task result that fails, with its message built from futures."""


def check(x):
    return x * x


for i in range(3):
    r = check(i)
    assert r == i * i, f"mismatch at {i}"
    print("ok", i)
value = check(3)
assert value == 10, f"expected 10, got {value}"
print("unreachable")
