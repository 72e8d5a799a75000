# autofuture
"""Tasks print; later tasks finish first; the output is still in program order."""
import time


def partial(word: str) -> str:
    print("partial:", word, end="")
    return word.upper()


def slow(i: int, delay: float) -> int:
    time.sleep(delay)
    print(f"task {i} done")
    return i * 10


print("start")
first = slow(1, 0.3)
second = slow(2, 0.0)
print("got", first, second)
for i in range(5):
    print("before", i)
    value = slow(i, 0.05 * (5 - i))
    print("after", i, value)
results = [slow(i, 0.02 * (4 - i)) for i in range(4)]
print("results", results)
print("no line end yet", end="")
print(" ... ended", partial("x"), sep="|")
print()
print("ends with two\n")
print("end")
