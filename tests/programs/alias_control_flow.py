# autofuture
"""Control flow on an alias while a mutation waits for a slow task: if, for, match,
in and == take the branch the plain run takes."""
import time


def work(i):
    time.sleep(0.3)
    return i


class Acc:
    def __init__(self):
        self.items = []

    def add(self, v):
        self.items.append(v)


acc = Acc()
alias = acc.items
acc.add(work(1))
if alias:
    print("if: not empty")
else:
    print("if: empty")
for y in alias:
    print("for:", y)
match alias:
    case []:
        print("match: empty")
    case [x]:
        print("match: one", x)
    case _:
        print("match: more")
print("in:", 1 in alias, "==:", alias == [1], "bool:", bool(alias))
acc.add(work(2))
print("comprehension:", [v for v in alias if v > 1], 2 in alias, alias == [1, 2])
seen = "yes" if alias[1:] else "no"
print("conditional:", seen, "and:", alias and alias[-1])
