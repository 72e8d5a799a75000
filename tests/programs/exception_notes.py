# autofuture
"""A task error carrying notes (Python 3.11 add_note): the notes end the report."""


def validate(x):
    err = ValueError(f"bad value {x}")
    err.add_note("hint: values must be even")
    err.add_note(f"got {x}")
    if x % 2:
        raise err
    return x


print(validate(2))
try:
    validate(3)
except ValueError as e:
    print("caught", e, e.__notes__)
print(validate(5))
