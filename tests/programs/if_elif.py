# autofuture
"""if/elif/else, conditional expressions, and/or/not and walrus on task results."""


def classify(x):
    return x % 3


def score(x):
    return x * 10


for i in range(6):
    c = classify(i)
    if c == 0:
        kind = "fizz"
    elif c == 1:
        kind = "buzz"
    else:
        kind = "other"
    print(i, kind)
big = score(7)
if big > 50 and big < 100:
    verdict = "medium"
elif big >= 100:
    verdict = "large"
else:
    verdict = "small"
print(verdict)
print("yes" if score(1) > 5 else "no")
flag = score(0) or "zero was falsy"
print(flag)
both = score(1) and score(2)
print(both)
if not score(0):
    print("not zero")
if classify(4) in (1, 2):
    print("membership")
if (n := score(5)) > 30:
    print("walrus", n)
print(n + 1)
