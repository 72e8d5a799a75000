# autofuture
# args: alpha beta 3
"""A program reading sys.argv in the workflow and in a task."""
import os
import sys


def shout(word):
    return word.upper()


def argv_len():
    return len(sys.argv)


def repeat(word, n):
    return word * n


print(os.path.basename(sys.argv[0]), sys.argv[1:])
print([shout(a) for a in sys.argv[1:3]])
print(repeat(sys.argv[1], int(sys.argv[3])))
print(argv_len())
