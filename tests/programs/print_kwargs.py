# autofuture
"""print() with sep/end/file/flush built from futures, and direct stream writes."""
import sys


def piece(i):
    return f"p{i}"


print(piece(1), piece(2), sep=piece(3))
print("no newline", end=piece(4))
print()
print(*[piece(i) for i in range(4)], sep=", ", end=".\n")
print("to stderr", piece(5), file=sys.stderr, flush=True)
sys.stdout.write(piece(6) + "\n")
sys.stderr.write(f"{piece(7)}\n")
print(file=sys.stderr)
print("last")
