# autofuture
"""sys.exit("message"): the message goes to stderr and the exit status is 1."""
import sys


def diagnose():
    return "disk full"


print("checking")
problem = diagnose()
print("problem found", file=sys.stderr)
sys.exit(f"fatal: {problem}")
print("never")
