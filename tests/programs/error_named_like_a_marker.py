# autofuture
"""A task's exception whose class has the name of one of autofuture's own notes
about a task (a task a message did not run, an input lost with its worker):
it is the user's error, raised at its turn with the plain run's traceback."""


class NotRun(Exception):
    pass


class HeldLost(Exception):
    pass


def check(x):
    if x == 3:
        raise NotRun(f"step {x} was skipped")
    return x


def guard(x):
    if x < 0:
        raise HeldLost(f"lost {x}")
    return -x


try:
    print(guard(-1))
except HeldLost as exc:
    print("caught", exc)
print([check(x) for x in range(3)])
print(check(3))
