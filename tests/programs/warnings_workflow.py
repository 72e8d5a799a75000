# autofuture
"""warnings.warn from the workflow and from a local helper name the user's file and line."""
import warnings

import autofuture


def value():
    return 5


@autofuture.local
def check(v):
    if v > 3:
        warnings.warn(f"{v} is large", stacklevel=2)
    return v


warnings.warn(f"value is {value()}")
print("checked", check(value()))
warnings.warn("a deprecation", DeprecationWarning)
print("end")
