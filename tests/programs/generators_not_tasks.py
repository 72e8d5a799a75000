# autofuture
"""Generator functions of the program are not tasks: they run locally, lazily."""


def countdown(n):
    while n > 0:
        yield n
        n -= 1


def sq(x):
    return x * x


print(list(countdown(3)))
print(sum(countdown(4)))
for v in countdown(3):
    print("tick", v, sq(v))
gen = countdown(2)
print(next(gen), next(gen), next(gen, "done"))
print([sq(v) for v in countdown(3)])
