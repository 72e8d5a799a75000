# autofuture
"""A map whose middle element fails: the output of the elements before it and of the
failing one up to its error, then the traceback through the comprehension; later
elements' prints never show. A first map gives the runtime the function's time per
element, so the second runs as slices of many elements (runtime/maps.py)."""


def step(i):
    print("step", i)
    if i == 150:
        raise ValueError(f"element {i} is bad")
    return i * 2


warm = [step(i) for i in range(20)]
if sum(warm) != 380:
    raise SystemExit("the warm-up map returned wrong results")
print("warm done")
results = [step(i) for i in range(300)]
print("never", len(results))
