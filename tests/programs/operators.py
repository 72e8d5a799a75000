# autofuture
"""Arithmetic, bitwise, comparison, membership, indexing and boolean operators on futures."""


def val(x):
    return x


a = val(7)
b = val(3)
c = val(2.5)
print(a + b, a - b, a * b, a / b, a // b, a % b, a**b, -a, +a, abs(-a), ~a)
print(a & b, a | b, a ^ b, a << b, a >> 1)
print(a < b, a <= b, a == b, a != b, a > b, a >= b)
print(b < a < 10, a < b < 10)
print(c * 2, round(c), divmod(a, b), pow(a, 2, 5))
lst = val([1, 2, 3, 4])
print(lst[0], lst[-1], lst[1:3], 3 in lst, 9 not in lst, len(lst))
t = val((5, 6))
print(t[0] + t[1], t * 2)
dd = val({"k": 1})
print(dd["k"], "k" in dd, dd.get("z", 0))
print(not a, a and b, a or b, (a > 5) and "big", val(0) or "falsy")
print(max(a, b), min(a, c), sum([a, b, c]))
print(a + 1.5, 10 - a, 2**b, "x" * b)
print(val(True) + 1, bool(val(0)), int(c), float(a), str(a) + "!")
