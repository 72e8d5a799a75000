"""An unmarked helper module: its functions are ordinary local calls."""

print("plainmath loaded")


def double(x):
    return 2 * x
