# autofuture
"""A multi-stage pipeline whose stages return pairs, unpacked at the call.

Each sensor's readings go through three stages: ``summarize`` gives the mean
and the standard deviation, ``band`` the interval of normal values around the
mean, and ``count_outside`` the readings outside it. The pair-returning stages
are annotated ``-> tuple[float, float]``, so ``mean, spread = summarize(r)``
gives two futures at once: the workflow never waits to unpack, and the next
stage is submitted straight away, to start when its inputs are ready. A last
stage pools every sensor's readings.

Run:

    python examples/pipeline.py
    python -m autofuture -n 4 examples/pipeline.py
"""
import math
import random

SENSORS = 6
READINGS = 100_000


def acquire(sensor: int, seed: int) -> list[float]:
    """Stage 1: synthetic readings, a sine drift plus Gaussian noise and a few spikes."""
    rng = random.Random(seed)
    base = 20.0 + sensor
    readings = []
    for k in range(READINGS):
        value = base + math.sin(k / 5_000) + rng.gauss(0.0, 0.5)
        if rng.random() < 0.001:
            value += rng.choice((-1.0, 1.0)) * 5.0
        readings.append(value)
    return readings


def summarize(readings: list[float]) -> tuple[float, float]:
    """Stage 2: mean and standard deviation."""
    mean = math.fsum(readings) / len(readings)
    variance = math.fsum((value - mean) ** 2 for value in readings) / len(readings)
    return mean, math.sqrt(variance)


def band(mean: float, spread: float) -> tuple[float, float]:
    """Stage 3: the interval of normal values, three standard deviations wide each side."""
    return mean - 3.0 * spread, mean + 3.0 * spread


def count_outside(readings: list[float], low: float, high: float) -> int:
    """Stage 4: how many readings fall outside ``[low, high]``."""
    return sum(1 for value in readings if not low <= value <= high)


def pool(series: list[list[float]]) -> list[float]:
    """Every sensor's readings in one list."""
    return [value for readings in series for value in readings]


readings_by_sensor = [acquire(sensor, 7_000 + sensor) for sensor in range(SENSORS)]

print(f"{'sensor':>6} {'mean':>8} {'sd':>7} {'low':>8} {'high':>8} {'outside':>8}")
for sensor in range(SENSORS):
    mean, spread = summarize(readings_by_sensor[sensor])
    low, high = band(mean, spread)
    outside = count_outside(readings_by_sensor[sensor], low, high)
    print(f"{sensor:6d} {mean:8.4f} {spread:7.4f} {low:8.4f} {high:8.4f} {outside:8d}")

pooled = pool(readings_by_sensor)
pooled_mean, pooled_spread = summarize(pooled)
print(f"all sensors: {len(pooled)} readings, mean {pooled_mean:.4f}, sd {pooled_spread:.4f}")
