# autofuture
"""`match` on task results: class, mapping, sequence, literal and capture patterns."""
import dataclasses


@dataclasses.dataclass
class Ok:
    value: int


@dataclasses.dataclass
class Err:
    reason: str


def run(i):
    if i % 3 == 0:
        return Ok(i * 10)
    if i % 3 == 1:
        return Err(f"bad {i}")
    return {"kind": "raw", "data": [i, i + 1, i + 2]}


def shape(n):
    return (n, n + 1) if n else "empty"


for i in range(7):
    match run(i):
        case Ok(value=v) if v > 20:
            print(i, "big ok", v)
        case Ok(value=v):
            print(i, "ok", v)
        case Err(reason=why):
            print(i, "error", why)
        case {"kind": "raw", "data": [first, *others]}:
            print(i, "raw", first, others)
        case _:
            print(i, "unknown")
match shape(2):
    case (a, b):
        print("pair", a, b)
    case str() as s:
        print("string", s)
match shape(0):
    case (left, right):
        print("pair", left, right)
    case "empty":
        print("literal empty")
