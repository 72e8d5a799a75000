# autofuture
"""Each call of a task sees the globals, defaults and helpers it reads as of that call,
however many calls of the same function came before (a function's payload is reused
only while nothing it is made of has changed)."""
import json
import math

SCALE = 2
LIMITS = (1, 10)
CONFIG = {"n": 1}


def scaled(x):
    return x * SCALE


def clipped(x):
    low, high = LIMITS
    return max(low, min(high, x))


def configured():
    return CONFIG["n"]


def offset(x, k=3):
    return x + k


def offset_by(x, k=(1, 2)):
    return x + sum(k)


def helper():
    return SCALE + 1


def via_helper():
    return helper() * 10


def library(x):
    return json.dumps({"root": math.isqrt(x)})


for _ in range(3):
    print(scaled(1), clipped(20), configured(), offset(1), via_helper(), library(16))
CONFIG["n"] = 5
print(configured())
print(offset(1, k=7), offset_by(1), offset_by(1, (5,)))
CONFIG["n"] = 6
print([configured() for _ in range(3)], [scaled(i) for i in range(5)])
