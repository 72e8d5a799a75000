# autofuture
"""A workflow inside ``main()``, run under ``if __name__ == "__main__":``.

Only top-level code is futurized by default. Decorating ``main`` with
``@autofuture.workflow`` futurizes its body too: the task calls in it return
futures and run in parallel, and it runs in the workflow process. ``report``
is marked ``@autofuture.local``: a cheap helper that should run right here,
in program order, rather than be shipped to a worker. Under plain Python
both decorators do nothing.

The script counts the primes below a limit (default 400000, or the first
command-line argument) in equal chunks, one task per chunk.

Run:

    python examples/workflow_main.py [LIMIT]
    python -m autofuture -n 4 examples/workflow_main.py [LIMIT]
"""
import sys

import autofuture

CHUNKS = 8


def count_primes(low: int, high: int) -> int:
    """The number of primes ``p`` with ``low <= p < high``, by trial division."""
    found = 0
    for n in range(max(low, 2), high):
        if n < 4:
            found += 1
        elif n % 2 and n % 3:
            divisor = 5
            while divisor * divisor <= n:
                if n % divisor == 0 or n % (divisor + 2) == 0:
                    break
                divisor += 6
            else:
                found += 1
    return found


@autofuture.local
def report(low: int, high: int, count: int) -> None:
    print(f"[{low:>7}, {high:>7}): {count:5d} primes")


@autofuture.workflow
def main() -> None:
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 400_000
    bounds = [(limit * k // CHUNKS, limit * (k + 1) // CHUNKS) for k in range(CHUNKS)]
    counts = [count_primes(low, high) for low, high in bounds]
    for k in range(CHUNKS):
        report(bounds[k][0], bounds[k][1], counts[k])
    print(f"{sum(counts)} primes below {limit}")


if __name__ == "__main__":
    main()
