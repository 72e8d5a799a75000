# autofuture
"""Notes on every link of a chain raised in a task, printed with the uncaught chain."""


def parse_row(row):
    try:
        return int(row)
    except ValueError as e:
        e.add_note(f"while parsing row {row!r}")
        raise RuntimeError("bad input") from e


def load(rows):
    try:
        return [parse_row(r) for r in rows]
    except RuntimeError as e:
        e.add_note(f"in a file of {len(rows)} rows")
        raise


print(load(["1", "2"]))
data = load(["3", "four"])
print("never", data)
