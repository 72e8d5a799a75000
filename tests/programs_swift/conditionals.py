# autofuture
"""Conditionals on task results: if/elif/else, nested, names bound in every arm."""


def classify(n: int) -> str:
    if n % 15 == 0:
        return "fizzbuzz"
    if n % 3 == 0:
        return "fizz"
    if n % 5 == 0:
        return "buzz"
    return str(n)


def double(n: int) -> int:
    return 2 * n


total = double(21)
if total > 40:
    verdict = "large"
    extra = double(total)
elif total > 10:
    verdict = "medium"
    extra = 0
else:
    verdict = "small"
    extra = -1
print(verdict, extra)
for i in range(1, 16):
    kind = classify(i)
    if kind == "fizzbuzz":
        print(i, "both")
    elif kind in ("fizz", "buzz"):
        print(i, "one:", kind)
    else:
        if double(i) > 20:
            print(i, "plain, double is big")
        else:
            print(i, "plain")
