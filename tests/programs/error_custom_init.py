# autofuture
"""Exception classes whose __init__ takes other arguments than args: each arrives as itself,
caught by its own class, with its attributes, and the last one ends the program."""


class QualityError(Exception):
    def __init__(self, sample, score):
        super().__init__(f"sample {sample} failed")
        self.sample, self.score = sample, score


class Rejected(ValueError):
    """Keyword-only arguments, and no call of super().__init__ at all."""

    def __init__(self, *, reason, code=400):
        self.reason = reason
        self.code = code

    def __str__(self):
        return f"{self.code}: {self.reason}"


class Tagged(Exception):
    """A default that pickle's own rebuild would apply twice: 'x [t] [t]'."""

    def __init__(self, message, tag="t"):
        super().__init__(f"{message} [{tag}]")
        self.tag = tag


class Slotted(Exception):
    __slots__ = ("weight",)

    def __init__(self, weight):
        super().__init__("too heavy")
        self.weight = weight


def inspect_sample(s):
    raise QualityError(s, s / 10)


def reject(why):
    raise Rejected(reason=why)


def tag(message):
    raise Tagged(message)


def weigh(w):
    raise Slotted(w)


try:
    v = inspect_sample(1)
    print("not reached", v)
except QualityError as e:
    print("rejected", e.sample, e.score, e.args, str(e))
try:
    r = reject("blurry")
    print("not reached", r)
except Rejected as e:
    print("rejected", e.reason, e.code, e.args, str(e), isinstance(e, ValueError))
try:
    t = tag("x")
    print("not reached", t)
except Tagged as e:
    print("tagged", e.args, e.tag)
try:
    w = weigh(7)
    print("not reached", w)
except Slotted as e:
    print("slotted", e.weight, e.args)
final = inspect_sample(2)
print("never", final)
