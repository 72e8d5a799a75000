# autofuture
"""A task raising an exception class defined in the program, caught by that class."""


class ValidationError(Exception):
    """Raised by validate(); carries an extra attribute."""


class NotFound(ValidationError):
    pass


def validate(x):
    if x < 0:
        err = ValidationError(f"negative: {x}")
        err.code = 400
        raise err
    if x > 100:
        raise NotFound(f"too big: {x}")
    return x


try:
    a = validate(5)
    b = validate(-3)
    print("not reached", b)
except ValidationError as e:
    print("caught", type(e).__name__, e, e.code)
try:
    c = validate(500)
    print("not reached", c)
except NotFound as e:
    print("caught subclass", type(e).__name__, e.args)
try:
    d = validate(1000)
    print("not reached", d)
except ValidationError as e:
    print("caught via base", type(e).__name__, isinstance(e, NotFound))
print("a", a)
final = validate(-1)
print("never", final)
