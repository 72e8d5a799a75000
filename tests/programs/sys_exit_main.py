# autofuture
"""The `sys.exit(main())` idiom: the exit status is a task result returned by a workflow."""
import sys

import autofuture


def check(i):
    return i % 3 == 0


def count_failures(results):
    return sum(1 for ok in results if not ok)


@autofuture.workflow
def main():
    results = [check(i) for i in range(7)]
    print("results", results)
    return count_failures(results)


if __name__ == "__main__":
    sys.exit(main())
