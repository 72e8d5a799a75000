# autofuture
"""Task calls whose results are never used: their output appears, and the last one's error
(with the output it printed before failing) ends the program."""
import sys


def noisy(i):
    print("noisy", i)
    return i


def last():
    print("about to fail")
    print("last words on stderr", file=sys.stderr)
    raise RuntimeError("the last call fails")


noisy(1)
noisy(2)
last()
