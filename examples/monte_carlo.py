# autofuture
"""Estimate pi by Monte Carlo sampling, one seeded task per batch of points.

Each task draws its points from its own ``random.Random(seed)``, with the
seed passed as an argument: randomness inside workers is not the plain
run's, so seeds travel with the call. That keeps the estimate identical under
plain Python and under autofuture, whatever the number of workers.

Run:

    python examples/monte_carlo.py
    python -m autofuture -n 4 examples/monte_carlo.py
"""
import random

BATCHES = 8
SAMPLES = 500_000


def count_inside(seed: int, samples: int) -> int:
    """How many of ``samples`` random points of the unit square fall in the quarter circle."""
    rng = random.Random(seed)
    inside = 0
    for _ in range(samples):
        x = rng.random()
        y = rng.random()
        if x * x + y * y <= 1.0:
            inside += 1
    return inside


# One task per batch; all of them start at once.
counts = [count_inside(1000 + batch, SAMPLES) for batch in range(BATCHES)]

for batch in range(BATCHES):
    print(f"batch {batch}: seed {1000 + batch}, {counts[batch]} of {SAMPLES} points inside")

inside_total = sum(counts)
estimate = 4 * inside_total / (BATCHES * SAMPLES)
print(f"pi ~ {estimate:.6f} from {BATCHES * SAMPLES} points")
