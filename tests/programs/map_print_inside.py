# autofuture
"""Maps whose tasks print, with the workflow printing between them: every line in
program order, each element's output at its turn; values read lazily and in sums."""
import sys


def shout(i, tag):
    print(tag, i)
    if i % 7 == 0:
        print("err", tag, i, file=sys.stderr)
    return i + 1


first = [shout(i, "a") for i in range(40)]
if sum(first) != 820:  # waits: the runtime knows shout's time per element from here
    raise SystemExit("wrong")
print("between", first[3], sum(first))
second = [shout(i, "b") for i in range(300)]
print("second", second[0], second[-1], sum(second), len(second))
third = [shout(n, "c") for n in (5, 6, 7)]
print("third", third)
empty = [shout(i, "d") for i in range(0)]
print("empty", empty)
