# autofuture
# A loop or comprehension over a generator, a builtin iterator wrapping one, a
# map of a function, or an object's __next__: each step runs the program's code,
# which prints between the tasks' output, as in the plain run. A task that fails
# before a step stops the loop there; the step's print never shows.
import itertools
import time


def work(x):
    time.sleep(0.05)
    print("task", x)
    return x


def fails(x):
    raise ValueError(f"task {x} failed")


def numbers(n):
    for i in range(n):
        print("step", i)
        yield i


def shout(i):
    print("shout", i)
    return i


class Countdown:
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return self

    def __next__(self):
        if self.n == 0:
            raise StopIteration
        self.n -= 1
        print("next", self.n)
        return self.n


direct = [work(x) for x in numbers(3)]
counted = [work(x) for x in enumerate(numbers(2))]
mapped = [work(x) for x in map(shout, [1, 2])]
chained = [work(x) for x in itertools.chain(numbers(2), [9])]
down = [work(x) for x in Countdown(2)]
quiet = [work(x) for x in (y * 3 for y in range(3))]
for pair in zip(numbers(2), "ab"):
    done = work(pair)
print(direct, counted, mapped, chained, down, quiet)
for x in numbers(3):
    broken = fails(x)
print("not reached")
