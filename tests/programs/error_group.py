# autofuture
"""Exception groups raised in tasks: members with their own classes and tracebacks, handled
by except* and by a plain except, then one ends the program."""
import sys


class BadRow(Exception):
    def __init__(self, row, why):
        super().__init__(f"row {row}: {why}")
        self.row = row


def check_row(row):
    if row % 2:
        raise BadRow(row, "odd")
    return row


def validate(rows):
    errors = []
    for row in rows:
        try:
            check_row(row)
        except BadRow as e:
            errors.append(e)
    if errors:
        raise ExceptionGroup(f"{len(errors)} bad rows", errors)
    return len(rows)


if sys.version_info >= (3, 11):
    try:
        n = validate([1, 2, 3])
        print("not reached", n)
    except* BadRow as group:
        print("bad rows", [e.row for e in group.exceptions], group.message)
    try:
        m = validate([5])
        print("not reached", m)
    except ExceptionGroup as group:
        print("group", type(group).__name__, group.message, repr(group.exceptions))
    print("ok", validate([2, 4]))
    final = validate([7, 8, 9])
    print("never", final)
