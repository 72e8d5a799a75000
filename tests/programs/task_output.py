# autofuture
"""What tasks print, to stdout and stderr, is replayed at their call's turn."""
import sys


def chatty(i):
    print(f"task {i} says hello")
    print(f"task {i} warns", file=sys.stderr)
    sys.stdout.write(f"task {i} raw write\n")
    return i * 3


def quiet(i):
    return i


def no_newline():
    print("no newline ->", end=" ")
    return 1


print("workflow start")
print("workflow to stderr", file=sys.stderr)
results = [chatty(i) for i in range(3)]
print("after list", results)
for i in range(3):
    q = quiet(i)
    print("loop", i, q)
    c = chatty(i + 10)
    print("chatty gave", c, file=sys.stderr)
nn = no_newline()
print("joined", nn)
print("end")
